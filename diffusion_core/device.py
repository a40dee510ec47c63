"""Pick the compute device and mark GPU-heavy functions for Hugging Face ZeroGPU.

``pick_device`` prefers CUDA, then Apple's MPS, then the CPU. ``gpu_task`` is
``spaces.GPU`` on a ZeroGPU Space and the identity everywhere else, so the same code runs on
a laptop, a CPU Space, a GPU Space and ZeroGPU.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable
from typing import Any, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M")


def pick_device(preferred: str | None = None) -> torch.device:
    """Return the best available device: cuda > mps > cpu.

    Args:
        preferred: ``"cuda"``, ``"mps"`` or ``"cpu"`` to force one; ``None`` or ``"auto"`` picks.

    Raises:
        ValueError: if the preferred device is unknown or not available here.
    """
    if preferred not in (None, "auto"):
        if preferred not in ("cuda", "mps", "cpu"):
            raise ValueError(f"unknown device {preferred!r}: use 'cuda', 'mps', 'cpu' or 'auto'")
        if preferred == "cuda" and not torch.cuda.is_available():
            raise ValueError("device 'cuda' was asked for, but no CUDA GPU is available")
        if preferred == "mps" and not _mps_available():
            raise ValueError("device 'mps' was asked for, but MPS is not available")
        return torch.device(preferred)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def on_zero_gpu() -> bool:
    """True on a Hugging Face ZeroGPU Space (the ``spaces`` package is there and enabled)."""
    if os.environ.get("SPACES_ZERO_GPU", "").lower() not in ("1", "true"):
        return False
    try:
        import spaces  # noqa: F401
    except ImportError:
        return False
    return True


Duration = int | Callable[..., int]


def gpu_task(duration: Duration = 60) -> Callable[[F], F]:
    """Decorate a GPU-heavy function: ``spaces.GPU(duration=...)`` on ZeroGPU, identity elsewhere.

    On ZeroGPU the function runs in a forked worker, so it must return CPU tensors or
    plain data (state dicts, images), never CUDA tensors.

    Args:
        duration: the worst-case seconds of GPU time one call needs (ZeroGPU's quota estimate), or
            a function of the call's arguments that returns them (``gpu_seconds`` builds one).
    """

    def decorate(fn: F) -> F:
        if on_zero_gpu():
            import spaces

            return spaces.GPU(duration=duration)(fn)

        return fn  # the identity: generators stay generators, so streaming handlers keep streaming

    return decorate


def gpu_seconds(work: object, seconds_per_unit: float, base: float = 10.0, cap: int = 300) -> int:
    """A ZeroGPU duration estimate: ``base + work * seconds_per_unit`` seconds, between ``base`` and ``cap``.

    ``work`` comes straight from the request (steps, or steps x images), so anything that is not a
    finite non-negative number counts as no work: the handler itself rejects it with a clear message.
    """
    try:
        units = float(work)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        units = 0.0
    if not math.isfinite(units) or units < 0:
        units = 0.0
    return int(min(cap, math.ceil(base + units * seconds_per_unit)))


def to_host(module: M) -> M:
    """On ZeroGPU, a CPU copy of ``module`` (what a forked GPU worker may hand back); elsewhere ``module``.

    Works for ``nn.Module`` and diffusers pipelines. Off ZeroGPU a session's model stays where it
    trains, so a GPU Space keeps it on the GPU and Stop keeps what it learnt.
    """
    if not on_zero_gpu():
        return module
    return copy.deepcopy(module).to("cpu")
