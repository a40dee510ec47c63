"""Gradio's image cache, as the app installs it: a picture being served is never rewritten under its reader."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest
from gradio import processing_utils
from PIL import Image

from ui.gradio_cache import write_cache_files_atomically


@pytest.fixture(scope="module", autouse=True)
def atomic_writers():
    write_cache_files_atomically()


@pytest.fixture
def noisy_picture() -> Image.Image:
    """A 600x600 RGB noise image: about 1 MB as PNG, so one write takes long enough to be caught in the middle."""
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (600, 600, 3), dtype=np.uint8))


def test_the_app_installs_the_whole_file_writers():
    import app  # noqa: F401  (importing the app installs them)

    assert processing_utils.save_pil_to_cache.__module__ == "ui.gradio_cache"
    assert processing_utils.save_bytes_to_cache.__module__ == "ui.gradio_cache"


def test_a_saved_picture_lands_where_gradio_puts_it(tmp_path, noisy_picture):
    data = processing_utils.encode_pil_to_bytes(noisy_picture, "png")
    path = processing_utils.save_pil_to_cache(noisy_picture, str(tmp_path), format="png")
    assert path == str((tmp_path / processing_utils.hash_bytes(data) / "image.png").resolve())
    with open(path, "rb") as file:
        assert file.read() == data
    assert [p.name for p in (tmp_path / processing_utils.hash_bytes(data)).iterdir()] == ["image.png"]  # no leftovers


def test_saving_bytes_names_the_file_as_gradio_does(tmp_path):
    path = processing_utils.save_bytes_to_cache(b"RIFF....WAVEfmt ", "clip", str(tmp_path))
    assert path.endswith("/clip.wav")
    with open(path, "rb") as file:
        assert file.read() == b"RIFF....WAVEfmt "


def test_a_reader_never_sees_a_short_file_while_the_same_picture_is_saved_again(tmp_path, noisy_picture):
    """What the web server does: take the size (its Content-Length), then read in chunks. With gradio's own
    in-place rewrite this came up short hundreds of times a second."""
    path = processing_utils.save_pil_to_cache(noisy_picture, str(tmp_path), format="png")
    full_size = os.path.getsize(path)
    done = threading.Event()

    def save_again_and_again():
        while not done.is_set():
            processing_utils.save_pil_to_cache(noisy_picture, str(tmp_path), format="png")

    saver = threading.Thread(target=save_again_and_again)
    saver.start()
    short_reads, reads, deadline = 0, 0, time.monotonic() + 2.0
    try:
        while time.monotonic() < deadline:
            promised = os.stat(path).st_size
            with open(path, "rb") as file:
                received = 0
                while chunk := file.read(65536):
                    received += len(chunk)
                    time.sleep(0.0005)  # a network write between chunks
            reads += 1
            short_reads += promised != full_size or received != full_size
    finally:
        done.set()
        saver.join()
    assert reads > 20
    assert short_reads == 0, f"{short_reads} of {reads} reads got a partly written file"


def test_saving_again_touches_the_file_so_the_cache_cleaner_ages_it_from_its_last_use(tmp_path, noisy_picture):
    path = processing_utils.save_pil_to_cache(noisy_picture, str(tmp_path), format="png")
    long_ago = time.time() - 86_400
    os.utime(path, (long_ago, long_ago))
    assert processing_utils.save_pil_to_cache(noisy_picture, str(tmp_path), format="png") == path
    assert os.path.getmtime(path) > time.time() - 60
