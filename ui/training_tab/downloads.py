"""This session's trained model: download it as safetensors (API ``/train_download``) or forget it (``/train_reset``)."""

from __future__ import annotations

from typing import Any

import torch

from diffusion_core.checkpoints import save_basic_unet
from diffusion_core.models import BasicUNet
from ui.common import download_folder
from ui.errors import as_choice
from ui.i18n import normalize_language, pick
from ui.training_tab.settings import MODEL_NAMES
from ui.training_tab.text import TEXT, session_summary


def train_download(kind: Any, session_models: Any, lang: Any) -> list[str]:
    """Handler of ``train_download``: write this session's model of ``kind`` as safetensors + config.json.

    Returns:
        The paths of the two files, weights first.

    Raises:
        ValueError: this session has not trained a model of ``kind``.
    """
    lang = normalize_language(lang)
    kind = as_choice(kind, "model", ("basic", "ddpm"))
    entry = session_models.get(kind) if isinstance(session_models, dict) else None
    folder = download_folder(f"trained-{kind}-")
    if isinstance(entry, BasicUNet):
        save_basic_unet(entry, folder)
        return [str(folder / "model.safetensors"), str(folder / "config.json")]
    from diffusers import DDPMPipeline, UNet2DModel  # imported when first used (ARCHITECTURE.md, "Start-up")

    unet = entry.unet if isinstance(entry, DDPMPipeline) else entry
    if not isinstance(unet, UNet2DModel):
        raise ValueError(pick(TEXT, "no_model", lang).format(model=MODEL_NAMES[kind]))
    unet.to(memory_format=torch.contiguous_format).save_pretrained(str(folder), safe_serialization=True)
    return [str(folder / "diffusion_pytorch_model.safetensors"), str(folder / "config.json")]


def train_reset(kind: Any, session_models: Any, lang: Any) -> tuple[dict, str]:
    """Handler of ``train_reset``: forget this session's model of ``kind``; Sampling goes back to the bundled one.

    Returns:
        (the session's models without ``kind``, status markdown).
    """
    lang = normalize_language(lang)
    kind = as_choice(kind, "model", ("basic", "ddpm"))
    models = {k: v for k, v in session_models.items() if k != kind} if isinstance(session_models, dict) else {}
    status = pick(TEXT, "reset_done", lang).format(model=MODEL_NAMES[kind])
    return models, status + "\n\n" + session_summary(models, lang)
