"""Turn an uploaded image (any size, any mode) into a tensor the lessons can use.

Two shapes are offered:

* ``as_digit``: grayscale ``(1, 1, 28, 28)`` in [0, 1], white strokes on black like MNIST,
  for the models.
* ``as_picture``: grayscale or RGB ``(1, C, H, W)`` in [0, 1], longest side capped, for the
  forward-process views that need no model.

Hostile files get a ``ValueError`` that names the problem: empty, not an image, truncated,
too many bytes, or too many pixels (a decompression bomb is refused from its header, before
any pixel is decoded).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_FILE_BYTES = 20 * 1024 * 1024  # 20 MiB: more than any photo a learner uploads
MAX_PIXELS = 40_000_000  # width x height from the header; larger is refused unread
PICTURE_MAX_SIDE = 256  # the forward-process views keep colour up to this side

ImageSource = str | Path | bytes | Image.Image | np.ndarray


def open_image(source: ImageSource, draft_side: int | None = None) -> Image.Image:
    """Open and fully decode an image, refusing hostile files with a clear ``ValueError``.

    Args:
        source: a file path, raw bytes, a PIL image or an ``(H, W[, C])`` uint8 array.
        draft_side: if given, JPEGs are decoded at a reduced scale no smaller than this side
            (PIL's ``draft``), which makes large photos cheap when only a small tensor is needed.

    Returns:
        A decoded PIL image (any mode).
    """
    if source is None:
        raise ValueError("no image was given")
    if isinstance(source, Image.Image):
        _check_pixels(source.size)
        return source
    if isinstance(source, np.ndarray):
        if source.ndim not in (2, 3) or source.size == 0:
            raise ValueError(f"an image array must be (H, W) or (H, W, C), got shape {source.shape}")
        _check_pixels((source.shape[1], source.shape[0]))
        array = source
        if array.dtype != np.uint8:
            array = np.clip(np.nan_to_num(array.astype(np.float64)), 0, 255).astype(np.uint8)
        return Image.fromarray(array.squeeze(-1) if array.ndim == 3 and array.shape[2] == 1 else array)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"image file not found: {path.name}")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"image file is too large: {size / 2**20:.1f} MiB (limit {MAX_FILE_BYTES // 2**20} MiB)")
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray)):
        data = bytes(source)
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(
                f"image file is too large: {len(data) / 2**20:.1f} MiB (limit {MAX_FILE_BYTES // 2**20} MiB)"
            )
    else:
        raise ValueError(f"cannot read an image from a {type(source).__name__}")
    if not data:
        raise ValueError("the image file is empty")
    return _decode(data, draft_side)


def _check_pixels(size: tuple[int, int]) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise ValueError(f"the image has no pixels ({width}x{height})")
    if width * height > MAX_PIXELS:
        raise ValueError(
            f"the image is too large: {width}x{height} pixels (limit {MAX_PIXELS // 1_000_000} megapixels)"
        )


def _decode(data: bytes, draft_side: int | None = None) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            _check_pixels(image.size)  # from the header: nothing decoded yet
            if draft_side and image.format == "JPEG":
                image.draft(image.mode, (draft_side, draft_side))
            image.load()
    except ValueError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        if isinstance(error, UnidentifiedImageError):
            raise ValueError("the file is not an image PIL can read (PNG, JPEG, GIF, BMP, WebP, ...)") from None
        raise ValueError("the image is too large: it looks like a decompression bomb") from None
    except (OSError, SyntaxError, EOFError) as error:
        raise ValueError(f"the image file is broken or truncated ({error})") from None
    return image


def _flatten_alpha(image: Image.Image) -> Image.Image:
    """Composite transparent images onto white (how they look in a browser)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image


def _to_tensor(image: Image.Image) -> torch.Tensor:
    array = np.asarray(image, dtype=np.float32) / 255.0
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(0)


def as_digit(source: ImageSource, invert: Literal["auto", "yes", "no"] = "auto", size: int = 28) -> torch.Tensor:
    """Make an MNIST-like digit tensor from any image.

    The image goes to grayscale, is padded to a square (keeping its aspect), resized to
    ``size`` x ``size``, and inverted when its border is bright (dark ink on white paper) so the
    strokes are white on black, as in MNIST.

    Args:
        source: anything ``open_image`` takes.
        invert: ``"auto"`` inverts bright-background images, ``"yes"``/``"no"`` force it.
        size: the output side in pixels, 4..256.

    Returns:
        `torch.Tensor`, (1, 1, size, size), float32 in [0, 1].
    """
    if invert not in ("auto", "yes", "no"):
        raise ValueError(f"invert must be 'auto', 'yes' or 'no', got {invert!r}")
    if not 4 <= int(size) <= 256:
        raise ValueError(f"size must be between 4 and 256, got {size}")
    gray = _flatten_alpha(open_image(source, draft_side=4 * int(size))).convert("L")
    side = max(gray.size)
    border = np.concatenate(
        [np.asarray(gray)[0], np.asarray(gray)[-1], np.asarray(gray)[:, 0], np.asarray(gray)[:, -1]]
    )
    bright_background = float(border.mean()) > 127
    fill = 255 if bright_background else 0
    square = ImageOps.pad(gray, (side, side), color=fill)
    small = square.resize((int(size), int(size)), Image.Resampling.LANCZOS)
    x = _to_tensor(small)
    if invert == "yes" or (invert == "auto" and bright_background):
        x = 1.0 - x
    return x.clamp(0.0, 1.0)


def as_picture(source: ImageSource, color: bool = True, max_side: int = PICTURE_MAX_SIDE) -> torch.Tensor:
    """Make a picture tensor for the forward-process views (no model involved).

    Args:
        source: anything ``open_image`` takes.
        color: keep RGB (3 channels) if True, else grayscale (1 channel).
        max_side: the longest side after downscaling, 8..1024; smaller images are kept as they are.

    Returns:
        `torch.Tensor`, (1, 3 or 1, H, W), float32 in [0, 1], with max(H, W) <= max_side.
    """
    if not 8 <= int(max_side) <= 1024:
        raise ValueError(f"max_side must be between 8 and 1024, got {max_side}")
    image = _flatten_alpha(open_image(source, draft_side=int(max_side))).convert("RGB" if color else "L")
    image.thumbnail((int(max_side), int(max_side)), Image.Resampling.LANCZOS)
    return _to_tensor(image)
