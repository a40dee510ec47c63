"""``ui.common.download_folder``: one folder per response, and old ones are removed."""

from __future__ import annotations

import os
import time

from ui import common


def test_download_folders_are_fresh_and_old_ones_are_pruned(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "DOWNLOADS_ROOT", tmp_path / "downloads")
    old = common.download_folder("trained-basic-")
    (old / "model.safetensors").write_bytes(b"x")
    recent = common.download_folder("sampling-")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    new = common.download_folder("pipeline-")
    assert new.is_dir() and new.parent == tmp_path / "downloads" and new.name.startswith("pipeline-")
    assert not old.exists(), "a folder older than DOWNLOAD_MAX_AGE_S must be removed"
    assert recent.exists(), "a recent folder may still be on its way to Gradio's cache"
    assert len({old, recent, new}) == 3
