"""The images a run trains on: the bundled MNIST or the learner's own uploads, and the preview images."""

from __future__ import annotations

from typing import Any

import torch

from diffusion_core.data import load_mnist, mnist_batch
from diffusion_core.user_data import images_to_tensor
from ui.i18n import pick
from ui.training_tab.settings import PREVIEW_COUNT
from ui.training_tab.text import TEXT


def training_images(data: str, uploads: Any, kind: str, rgb: bool, lang: str) -> torch.Tensor:
    """The training set: MNIST, or the uploaded files as 28x28 grayscale (or 32x32 colour, UNet2DModel only).

    Args:
        data: ``"mnist"`` or ``"upload"``.
        uploads: what the file widget (or an API client) sent: a list of paths, file objects or dicts.
        kind: ``"basic"`` or ``"ddpm"``; colour needs ``"ddpm"``.
        rgb: colour 32x32 instead of grayscale 28x28 (uploads only).
        lang: the language of the error messages.

    Returns:
        `torch.Tensor`, (N, C, H, W), in [0, 1]: N = 10,000 MNIST digits or the 8..2000 uploads.

    Raises:
        ValueError: no uploads, colour for BasicUNet, or files that are not images.
    """
    if data == "mnist":
        return load_mnist()[0]
    if rgb and kind != "ddpm":
        raise ValueError(pick(TEXT, "rgb_basic", lang))
    files = uploads if isinstance(uploads, list) else ([uploads] if uploads else [])
    if not files:
        raise ValueError(pick(TEXT, "need_upload", lang))
    paths = [getattr(item, "name", None) or getattr(item, "path", None) or item for item in files]
    paths = [item.get("path") if isinstance(item, dict) else item for item in paths]
    if any(not isinstance(path, str) for path in paths):
        raise ValueError("uploads must be files")
    return images_to_tensor(paths, "rgb32" if rgb else "gray28")


def preview_images(data: str, images: torch.Tensor | None, seed: int) -> torch.Tensor:
    """The ``PREVIEW_COUNT`` images of the three-row figure, chosen by ``seed``.

    Args:
        data: ``"mnist"`` (the tutorial's MNIST batch) or ``"upload"`` (a seeded pick among ``images``).
        images (`torch.Tensor`, (N, C, H, W), in [0, 1]): the training set (not needed for MNIST).

    Returns:
        `torch.Tensor`, (8, C, H, W) (fewer only if N < 8), in [0, 1].
    """
    if data == "mnist" or images is None:
        return mnist_batch(PREVIEW_COUNT, seed)[0]
    index = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:PREVIEW_COUNT]
    return images[index]
