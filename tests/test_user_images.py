"""Uploaded images: any size or mode becomes a tensor; hostile files get a clear ValueError."""

import io
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from diffusion_core.user_images import MAX_FILE_BYTES, as_digit, as_picture, open_image


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_black_ink_on_white_becomes_a_white_on_black_digit():
    image = Image.new("RGB", (300, 200), "white")
    image.paste((0, 0, 0), (140, 40, 160, 160))  # a dark vertical stroke: a "1"
    x = as_digit(png_bytes(image))
    assert x.shape == (1, 1, 28, 28) and x.dtype == torch.float32
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    assert float(x[..., 0, 0]) < 0.05  # background is black after inversion
    assert float(x[..., 14, 14]) > 0.5  # the stroke is bright


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "I;16", "1", "CMYK"])
def test_any_mode_is_accepted(mode):
    image = Image.new("RGB", (64, 48), (200, 30, 30)).convert(mode)
    assert as_digit(image).shape == (1, 1, 28, 28)
    picture = as_picture(image, color=True)
    assert picture.shape == (1, 3, 48, 64)


def test_pictures_keep_colour_up_to_the_size_cap():
    image = Image.new("RGB", (1000, 500), (255, 0, 0))
    x = as_picture(png_bytes(image), max_side=256)
    assert x.shape == (1, 3, 128, 256)
    assert torch.allclose(x[0, :, 10, 10], torch.tensor([1.0, 0.0, 0.0]), atol=0.01)
    assert as_picture(image, color=False).shape[1] == 1


def test_numpy_arrays_are_accepted():
    array = (np.random.default_rng(0).random((40, 30, 3)) * 255).astype(np.uint8)
    assert as_digit(array).shape == (1, 1, 28, 28)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        as_digit(path)


def test_not_an_image():
    with pytest.raises(ValueError, match="not an image"):
        as_digit(b"%PDF-1.4 this is not an image at all")


def test_truncated_image():
    data = png_bytes(Image.new("RGB", (200, 200), "white"))
    with pytest.raises(ValueError, match="broken or truncated"):
        as_digit(data[: len(data) // 2])


def test_too_many_bytes():
    with pytest.raises(ValueError, match="too large"):
        open_image(b"\x89PNG" + b"\0" * (MAX_FILE_BYTES + 1))


def test_decompression_bomb_is_refused_from_its_header():
    # a valid PNG header claiming 100,000 x 100,000 pixels (10 gigapixels): must fail before decoding
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0))
    bomb = b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")
    with pytest.raises(ValueError, match="too large"):
        as_digit(bomb)


def test_missing_file_and_wrong_type(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        as_digit(tmp_path / "nope.png")
    with pytest.raises(ValueError, match="cannot read"):
        as_digit(12345)
    with pytest.raises(ValueError, match="no image"):
        as_digit(None)
    with pytest.raises(ValueError, match="invert"):
        as_digit(Image.new("L", (8, 8)), invert="maybe")
