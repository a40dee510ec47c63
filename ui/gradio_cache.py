"""Gradio's cache of output images, written so that a picture being served is never cut short.

Gradio 6.31 saves every image an event returns as ``<cache>/<sha256 of its bytes>/image.<format>``, rewriting that
file in place each time (``Path.write_bytes``: truncate, then write). The same picture is returned again and again
here: every learner who opens a tab gets the same default image, and a language switch re-sends the pictures on
the page. When one event rewrites the file while the browser is still downloading it for another, the server has
already promised the old length (``Content-Length``), finds the file shorter, and drops the response: the image
is missing and the browser logs ``ERR_CONTENT_LENGTH_MISMATCH`` (this happened in CI). With a 1 MB PNG rewritten
in a loop, a reader that checks the size, then reads, came up short 1,446 times in 5 s.

Gradio already writes copied files (``save_file_to_cache``) under a temporary name and renames them into place.
``write_cache_files_atomically()`` makes its two in-place writers do the same, and skip the write when the file
is already there: the folder is named by the bytes' hash, so a file there already holds these very bytes. Its
time stamps are touched, as ``save_file_to_cache`` does, so ``delete_cache`` ages it from its latest use.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _write_whole(path: Path, data: bytes) -> None:
    """Leave ``path`` holding ``data``, never a part of it, for any reader at any moment."""
    if path.exists():
        with contextlib.suppress(OSError):  # deleted meanwhile: the caller's next write puts it back
            os.utime(path)
        return
    descriptor, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def write_cache_files_atomically() -> None:
    """Swap gradio's ``save_pil_to_cache`` and ``save_bytes_to_cache`` for versions that write whole files.

    Same arguments, same returned path, same file name: only how the bytes reach the disk changes. Idempotent.
    """
    from gradio import processing_utils

    def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
        data = processing_utils.encode_pil_to_bytes(img, format)
        folder = Path(cache_dir) / processing_utils.hash_bytes(data)
        folder.mkdir(exist_ok=True, parents=True)
        path = (folder / f"{name}.{format}").resolve()
        _write_whole(path, data)
        return str(path)

    def save_bytes_to_cache(data: bytes, file_name: str, cache_dir: str) -> str:
        folder = Path(cache_dir) / processing_utils.hash_bytes(data)
        folder.mkdir(exist_ok=True, parents=True)
        if not Path(file_name).suffix:
            file_name += processing_utils.detect_audio_format(data)
        path = (folder / Path(file_name).name).resolve()
        _write_whole(path, data)
        return str(path)

    processing_utils.save_pil_to_cache = save_pil_to_cache
    processing_utils.save_bytes_to_cache = save_bytes_to_cache
