"""A learner's own training set: a folder of images or 8..2000 uploaded files -> one tensor.

Each image goes through ``diffusion_core.user_images`` (which refuses hostile files) and becomes

* ``(1, 28, 28)`` grayscale, white strokes on black like MNIST (``as_digit``), for either model; or
* ``(3, 32, 32)`` RGB (padded to a square, resized), for the DDPM model with 3 channels.

Unusable sets get a ``ValueError`` that says what is wrong: too few images, too many, a file
that is not an image (named, with its position), or a folder with nothing usable in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image, ImageOps

from diffusion_core.user_images import ImageSource, _flatten_alpha, as_digit, open_image

MIN_IMAGES = 8  # fewer than this cannot make a meaningful batch, let alone a data set
MAX_IMAGES = 2000  # keeps an upload (and its decoding time) bounded
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
ImageFormat = Literal["gray28", "rgb32"]
IMAGE_FORMATS: dict[str, tuple[int, int]] = {"gray28": (1, 28), "rgb32": (3, 32)}  # format -> (channels, side)


def images_to_tensor(sources: Sequence[ImageSource], image_format: ImageFormat = "gray28") -> torch.Tensor:
    """Turn 8..2000 images into one training tensor.

    Args:
        sources: file paths, bytes, PIL images or arrays (anything ``open_image`` takes).
        image_format: ``"gray28"`` (MNIST-like digits, (1, 28, 28)) or ``"rgb32"`` (colour, (3, 32, 32)).

    Returns:
        `torch.Tensor`, (N, 1, 28, 28) or (N, 3, 32, 32), float32 in [0, 1].

    Raises:
        ValueError: too few or too many images, or a source that is not a readable image (named).
    """
    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"image format must be 'gray28' or 'rgb32', got {image_format!r}")
    sources = list(sources or [])
    if len(sources) < MIN_IMAGES:
        raise ValueError(f"need at least {MIN_IMAGES} training images, got {len(sources)}")
    if len(sources) > MAX_IMAGES:
        raise ValueError(f"at most {MAX_IMAGES} training images are accepted, got {len(sources)}")
    tensors = []
    for index, source in enumerate(sources):
        try:
            tensors.append(_convert(source, image_format))
        except ValueError as error:
            raise ValueError(f"file {index + 1} of {len(sources)} ({_name(source)}): {error}") from None
    return torch.cat(tensors)


def load_image_folder(folder: str | Path, image_format: ImageFormat = "gray28") -> torch.Tensor:
    """Load every image file in a folder (not recursive; sorted by name) as a training tensor.

    Files whose suffix is not an image suffix are ignored; files with an image suffix that do
    not decode are an error (a corrupt data set should be fixed, not silently shrunk).

    Args:
        folder: the folder holding the images.
        image_format: ``"gray28"`` or ``"rgb32"`` (see ``images_to_tensor``).

    Returns:
        `torch.Tensor`, (N, C, S, S), float32 in [0, 1].
    """
    path = Path(folder)
    if not path.is_dir():
        raise ValueError(f"not a folder: {path}")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no image files ({', '.join(IMAGE_SUFFIXES)}) in {path}")
    return images_to_tensor(files, image_format)


def _convert(source: ImageSource, image_format: ImageFormat) -> torch.Tensor:
    channels, side = IMAGE_FORMATS[image_format]
    if channels == 1:
        return as_digit(source, size=side)
    image = _flatten_alpha(open_image(source, draft_side=4 * side)).convert("RGB")
    square = ImageOps.pad(image, (max(image.size),) * 2, color=(0, 0, 0))
    small = square.resize((side, side), Image.Resampling.LANCZOS)
    array = np.asarray(small, dtype=np.float32).transpose(2, 0, 1) / 255.0
    return torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(0)


def _name(source: object) -> str:
    if isinstance(source, (str, Path)):
        return Path(source).name
    return type(source).__name__
