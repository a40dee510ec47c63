"""Sampled chunks kept on disk, so a long evaluation resumes where it stopped and reuses what another one sampled.

``comparison_lab.generate`` samples n images in chunks of ``sampling.MAX_BATCH`` (256) from one seeded generator,
so chunk k depends only on the model, the sampling settings, the seed and the chunks before it. Given a
``SampleCache``, it writes each chunk (its images, and the generator's state after it) as soon as the chunk is
done, and reads it back on a later call with the same settings. Two uses:

* a 1000-step DDPM evaluation of 1000 images (``eval --bar``: about 45 minutes on a 2-core CPU) that is stopped,
  by a session's end or a kill, loses at most the chunk in progress;
* the quality curves' 1000-step DDPM point at n = 512 is the bar's first two chunks: the curves read them back
  instead of sampling them again (about 22 minutes on that CPU).

A chunk's key is a hash of everything its images depend on: the UNet's weights, the scheduler's config, the
sampler, steps, seed, start, forward (runtime, precision, CUDA graph), device type and chunk size. A chunk file that
cannot be read, or holds the wrong number of images, is sampled again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

FORMAT_VERSION = 1  # bump when the file layout or what a key covers changes


@dataclass(frozen=True)
class ChunkDone:
    """One chunk of a ``generate`` call, sampled or read back from the cache."""

    index: int  # 0-based chunk number
    chunks: int  # chunks in the call
    images_done: int  # images finished so far, this chunk included
    n: int  # images asked for
    seconds: float  # the chunk's sampling time (for a chunk read back: the time it took when it was sampled)
    cached: bool  # read back from the cache


@dataclass(frozen=True)
class CachedChunk:
    """A chunk read back: its images (size, C, H, W) and the generator state to continue from."""

    samples: torch.Tensor
    generator_state: torch.Tensor
    seconds: float


def weights_fingerprint(model: nn.Module) -> str:
    """SHA-256 of a model's parameters and buffers (names, dtypes, shapes and values), as hex."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return digest.hexdigest()


class SampleCache:
    """Chunks of sampled images under ``folder``, one subfolder per sampling setting.

    Layout: ``folder/<key>/settings.json`` (the settings, readable) and ``folder/<key>/chunk_<index>_<size>.safetensors``
    (tensors ``samples`` (size, C, H, W) float32 and ``generator_state`` uint8; metadata ``seconds``).
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise ValueError(f"the sample cache {str(self.folder)!r} is a file, not a folder")

    def key(self, unet: nn.Module, scheduler: Any, settings: dict[str, Any]) -> str:
        """The subfolder for one sampling setting (creating it with its ``settings.json``): a 20-hex-digit hash."""
        described = {
            "format": FORMAT_VERSION,
            "weights": weights_fingerprint(unet),
            "scheduler": {k: v for k, v in dict(getattr(scheduler, "config", scheduler)).items() if k[0] != "_"},
            **settings,
        }
        text = json.dumps(described, sort_keys=True, default=str)
        key = hashlib.sha256(text.encode()).hexdigest()[:20]
        settings_file = self.folder / key / "settings.json"
        if not settings_file.is_file():
            settings_file.parent.mkdir(parents=True, exist_ok=True)
            settings_file.write_text(json.dumps(described, indent=2, sort_keys=True, default=str) + "\n")
        return key

    def load(self, key: str, index: int, size: int) -> CachedChunk | None:
        """Chunk ``index`` of ``size`` images, or ``None`` when it is missing or unreadable."""
        path = self._path(key, index, size)
        if not path.is_file():
            return None
        try:
            with safe_open(path, framework="pt") as handle:
                seconds = float(handle.metadata()["seconds"])
                samples, state = handle.get_tensor("samples"), handle.get_tensor("generator_state")
        except (SafetensorError, OSError, KeyError, TypeError, ValueError):
            return None
        if samples.shape[0] != size or samples.dtype != torch.float32 or state.dtype != torch.uint8:
            return None
        return CachedChunk(samples, state, seconds)

    def save(self, key: str, index: int, samples: torch.Tensor, generator_state: torch.Tensor, seconds: float) -> None:
        """Write chunk ``index`` (``samples`` (size, C, H, W)) atomically: a killed write leaves no chunk."""
        path = self._path(key, index, samples.shape[0])
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        tensors = {"samples": samples.detach().float().cpu().contiguous(), "generator_state": generator_state}
        save_file(tensors, temporary, metadata={"seconds": repr(float(seconds))})
        temporary.replace(path)

    def _path(self, key: str, index: int, size: int) -> Path:
        return self.folder / key / f"chunk_{index:05d}_{size}.safetensors"
