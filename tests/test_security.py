"""Security defaults: nothing outside assets/ and Gradio's temp folder is served; errors stay private."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

import app

pytestmark = pytest.mark.api

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "../../../../etc/passwd",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        str(ROOT / "app.py"),
        str(ROOT / "diffusion_core" / "data.py"),
        str(ROOT / "README.md"),
        "app.py",
        "~/.bashrc",
        "/proc/self/environ",
    ],
)
def test_no_file_outside_the_allowed_folders_is_served(app_url, path):
    for url in (f"{app_url}/gradio_api/file={path}", f"{app_url}/gradio_api/file={quote(path)}"):
        response = httpx.get(url, timeout=10)
        assert response.status_code in (400, 403, 404), (url, response.status_code)
        assert "root:" not in response.text and "def build_app" not in response.text


def test_show_error_is_off_by_default(monkeypatch):
    monkeypatch.delenv("DIFFUSION_EXPLORER_SHOW_ERROR", raising=False)
    assert app.launch_kwargs()["show_error"] is False
    monkeypatch.setenv("DIFFUSION_EXPLORER_SHOW_ERROR", "1")
    assert app.launch_kwargs()["show_error"] is True


def test_uploads_are_capped():
    assert app.launch_kwargs()["max_file_size"] == app.MAX_FILE_SIZE == "20mb"


def test_upload_above_max_file_size_is_refused(app_url, tmp_path):
    big = tmp_path / "big.png"
    with open(big, "wb") as handle:
        handle.truncate(21 * 1024 * 1024)  # 21 MiB of zeros, sparse on disk
    with open(big, "rb") as handle:
        response = httpx.post(f"{app_url}/gradio_api/upload", files={"files": ("big.png", handle)}, timeout=60)
    assert response.status_code in (400, 413), response.status_code
    assert os.path.getsize(big) > 20 * 1024 * 1024


def test_no_pickle_loading_anywhere_in_the_code():
    """Only safetensors are loaded: no torch.load, pickle or trust_remote_code in the app or engine."""
    offenders = []
    for file in [
        ROOT / "app.py",
        *sorted((ROOT / "diffusion_core").rglob("*.py")),
        *sorted((ROOT / "ui").rglob("*.py")),
    ]:
        text = file.read_text()
        for needle in ("torch.load(", "pickle.load", "trust_remote_code=True", "use_safetensors=False"):
            if needle in text:
                offenders.append(f"{file.relative_to(ROOT)}: {needle}")
    assert not offenders, offenders
