"""Save and load the two models, as safetensors only (never pickle, never remote code).

Layout in ``assets/checkpoints`` (the bundled defaults):

* ``basic_unet/model.safetensors`` + ``basic_unet/config.json``: ``BasicUNet`` weights and its
  ``in_channels``/``out_channels``.
* ``ddpm_mnist/``: a diffusers ``DDPMPipeline`` folder written by ``save_pretrained``
  (``model_index.json``, ``unet/``, ``scheduler/``), loadable with
  ``DDPMPipeline.from_pretrained(path, use_safetensors=True)``.

Each folder also holds ``training_log.json`` and ``samples.png`` written by the training CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import load_file, save_file

from diffusion_core.data import ASSETS_DIR
from diffusion_core.models import BUILD_LOCK, BasicUNet

if TYPE_CHECKING:  # diffusers is imported when first used (ARCHITECTURE.md, "Start-up")
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

CHECKPOINTS_DIR = ASSETS_DIR / "checkpoints"
BASIC_UNET_DIR = CHECKPOINTS_DIR / "basic_unet"
DDPM_DIR = CHECKPOINTS_DIR / "ddpm_mnist"
BASIC_WEIGHTS = "model.safetensors"
BASIC_CONFIG = "config.json"
# Loads take turns with each other and with fresh models (``models.BUILD_LOCK``): a BasicUNet built while
# ``from_pretrained`` ran in another thread got meta weights ("Cannot copy out of meta tensor").
LOAD_LOCK = BUILD_LOCK


def save_basic_unet(model: BasicUNet, folder: str | Path) -> Path:
    """Write ``model.safetensors`` and ``config.json`` for a ``BasicUNet``; returns the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(folder / BASIC_WEIGHTS))
    config = {
        "in_channels": model.down_layers[0].in_channels,
        "out_channels": model.up_layers[-1].out_channels,
    }
    (folder / BASIC_CONFIG).write_text(json.dumps(config, indent=2))
    return folder


def load_basic_unet(folder: str | Path | None = None, device: torch.device | str = "cpu") -> BasicUNet:
    """Load a ``BasicUNet`` saved by ``save_basic_unet`` (default: the bundled one), in eval mode.

    Raises:
        ValueError: if the folder or its files are missing or do not fit a BasicUNet.
    """
    folder = Path(folder) if folder is not None else BASIC_UNET_DIR
    weights, config_path = folder / BASIC_WEIGHTS, folder / BASIC_CONFIG
    if not weights.is_file() or not config_path.is_file():
        raise ValueError(f"no BasicUNet checkpoint in {folder.name!r}: expected {BASIC_WEIGHTS} and {BASIC_CONFIG}")
    try:
        config = json.loads(config_path.read_text())
        with LOAD_LOCK:
            model = BasicUNet(int(config["in_channels"]), int(config["out_channels"]))
        model.load_state_dict(load_file(str(weights)))
    except (KeyError, TypeError, json.JSONDecodeError, RuntimeError) as error:
        raise ValueError(f"the BasicUNet checkpoint in {folder.name!r} is unreadable: {error}") from None
    return model.to(device).eval()


def save_ddpm_pipeline(unet: UNet2DModel, scheduler: DDPMScheduler, folder: str | Path) -> Path:
    """Save a UNet2DModel and its scheduler as a ``DDPMPipeline`` folder (safetensors)."""
    from diffusers import DDPMPipeline

    folder = Path(folder)
    pipeline = DDPMPipeline(unet=unet, scheduler=scheduler)
    pipeline.save_pretrained(str(folder), safe_serialization=True)
    return folder


def load_ddpm_pipeline(folder: str | Path | None = None, device: torch.device | str = "cpu") -> DDPMPipeline:
    """Load a ``DDPMPipeline`` folder (default: the bundled one) with ``use_safetensors=True``.

    Raises:
        ValueError: if the folder is missing or is not a readable DDPMPipeline.
    """
    from diffusers import DDPMPipeline

    folder = Path(folder) if folder is not None else DDPM_DIR
    if not (folder / "model_index.json").is_file():
        raise ValueError(f"no DDPMPipeline in {folder.name!r}: model_index.json is missing")
    try:
        with LOAD_LOCK:
            pipeline = DDPMPipeline.from_pretrained(str(folder), use_safetensors=True, local_files_only=True)
    except (OSError, ValueError) as error:
        raise ValueError(f"the DDPMPipeline in {folder.name!r} is unreadable: {error}") from None
    pipeline.unet.eval()
    return pipeline.to(device)
