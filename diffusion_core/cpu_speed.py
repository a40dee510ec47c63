"""What pays on this CPU: float32 PyTorch (the yardstick), bfloat16 autocast, or ONNX Runtime.

bfloat16 halves the bytes a convolution moves, but only CPUs with bfloat16 instructions
(``avx512_bf16``, or Intel AMX's ``amx_bf16``) run it natively. Elsewhere oneDNN emulates it and
a UNet2DModel forward is about 20x *slower* (measured: 5.3 s against 0.25 s for 16 MNIST digits on
an AVX2-only AMD EPYC).

Where it is native it pays for training, not for the sampling forward. Measured on a 2-core AMD EPYC
with ``avx512_bf16`` (interleaved rounds, same run, machine otherwise idle):

* a training step (fused AdamW), bf16 autocast against float32: BasicUNet at batch 128 (channels_last)
  48 ms against 86 ms, **1.81x** (the ``training`` benchmark: the fast path 2.21x the tutorial's loop in bf16,
  1.43x in float32); UNet2DModel 1.05x at batch 128 and 1.09-1.13x at 256 in the same probe, but 0.94x
  at 128 in the benchmark's fast path: a wash, with bf16's rounding. So ``training_precision`` autocasts
  BasicUNet's fast path (``CPU_BF16_TRAINING``) where the CPU has native bfloat16, and nothing else.
* the sampling forward (UNet2DModel, 16 digits): eager float32 87 ms, bf16 autocast 89 ms (**0.98x**, and
  up to 0.03 off), ONNX Runtime float32 40.5 ms (**2.15x**). A small forward is bound by its many small
  operations, not by arithmetic. So ``forward_precision`` stays float32 on every CPU unless told otherwise
  (Intel AMX was never at hand to measure; ``$DIFFUSION_EXPLORER_CPU_PRECISION=bf16`` tries it, and the
  ``sampling`` benchmark's candidates table measures bf16 on whatever CPU runs it).

Measured and not kept for the forward (AVX2-only EPYC, same run, against the eager float32 forward; see the
``sampling`` benchmark): channels_last (slower, 0.37 s vs 0.25 s), ``torch.inference_mode``
(no gain over ``no_grad``), two batches of 8 (slower), SDPA's math kernel (slower),
``torch.compile`` (inductor; ~200 s to compile, ~70 s to reload from the FX graph cache in a
fresh process under load, a recompile for every new batch size and thread count, and a forward
~20-25% faster, measured under load).

Kept: ONNX Runtime (``diffusion_core.onnx_unet``), the float32 forward 1.7x (AVX2) to 2.15x (AVX-512) faster
than eager, with the same results to float rounding. ``forward_runtime`` picks it for the float32 forward on
the CPU wherever ``onnx`` and ``onnxruntime`` are installed.
"""

from __future__ import annotations

import functools
import os
from typing import Literal

import torch

from diffusion_core import onnx_unet

Precision = Literal["fp32", "bf16"]
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})  # /proc/cpuinfo flags of native bfloat16 arithmetic
CPU_BF16_TRAINING = frozenset({"basic"})  # models whose CPU training step bf16 speeds up (measured, see above)
ENV_OVERRIDE = "DIFFUSION_EXPLORER_CPU_PRECISION"  # "fp32" or "bf16": force the CPU's choice (e.g. to compare)


def parse_cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The ``flags`` of the first processor in a ``/proc/cpuinfo`` text (empty if there is none)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


@functools.lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """This machine's CPU flags (empty where ``/proc/cpuinfo`` cannot be read, e.g. macOS)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            return parse_cpu_flags(handle.read())
    except OSError:
        return frozenset()


def has_native_bf16(flags: frozenset[str]) -> bool:
    """True if a CPU with these flags runs bfloat16 arithmetic natively (not emulated by oneDNN)."""
    return bool(flags & BF16_FLAGS)


def _override(override: str | None) -> str:
    """``override``, else ``$DIFFUSION_EXPLORER_CPU_PRECISION``: ``""``, ``"fp32"`` or ``"bf16"``.

    Raises:
        ValueError: if it is anything else.
    """
    override = os.environ.get(ENV_OVERRIDE, "") if override is None else override
    if override not in ("", "fp32", "bf16"):
        raise ValueError(f"{ENV_OVERRIDE} must be 'fp32' or 'bf16', got {override!r}")
    return override


def training_precision(device: torch.device | str, model: str, flags: frozenset[str] | None = None,
                       override: str | None = None) -> Precision:  # fmt: skip
    """The autocast precision of the fast training path of ``model`` (``"basic"`` or ``"ddpm"``) on ``device``.

    ``"bf16"`` on CUDA, and for BasicUNet on a CPU with native bfloat16 (``has_native_bf16``: 1.81x its step;
    UNet2DModel's was a wash, see the module docstring); ``"fp32"`` otherwise (other CPUs, Apple MPS).
    ``override`` (default: ``$DIFFUSION_EXPLORER_CPU_PRECISION``) forces the CPU's choice for every model.

    Raises:
        ValueError: if ``override`` is neither ``"fp32"`` nor ``"bf16"``.
    """
    kind = torch.device(device).type
    if kind != "cpu":
        return "bf16" if kind == "cuda" else "fp32"
    forced = _override(override)
    if forced:
        return forced  # type: ignore[return-value]
    native = has_native_bf16(cpu_flags() if flags is None else flags)
    return "bf16" if native and model in CPU_BF16_TRAINING else "fp32"


def forward_precision(device: torch.device | str, override: str | None = None) -> Precision:
    """The precision of the UNet forward while sampling on ``device``: ``"fp32"``, unless ``override``
    (default: ``$DIFFUSION_EXPLORER_CPU_PRECISION``) asks the CPU for ``"bf16"``.

    bf16 autocast did not speed this forward up even where the CPU runs bfloat16 natively (0.98x on
    ``avx512_bf16``, see the module docstring); the GPU has its own fast path.

    Raises:
        ValueError: if ``override`` is neither ``"fp32"`` nor ``"bf16"``.
    """
    if torch.device(device).type != "cpu":
        return "fp32"
    return _override(override) or "fp32"  # type: ignore[return-value]


def forward_runtime(device: torch.device | str, precision: Precision = "fp32") -> str:
    """The runtime of the UNet forward while sampling on ``device`` at ``precision``: ``"onnxruntime"`` for the
    float32 forward on the CPU where ``onnx_unet.available()`` (``$DIFFUSION_EXPLORER_CPU_RUNTIME=torch`` turns
    it off), else ``"torch"`` (the GPU, and bfloat16 autocast, stay on PyTorch)."""
    if torch.device(device).type != "cpu" or precision != "fp32":
        return "torch"
    return "onnxruntime" if onnx_unet.available() else "torch"


def sampling_forward(device: torch.device | str) -> dict[str, str]:
    """``scheduler_sample``'s ``precision`` and ``runtime`` for the plain (not CUDA-graph) loop on ``device``:
    ``forward_precision``, then ``forward_runtime`` at that precision."""
    precision = forward_precision(device)
    return {"precision": precision, "runtime": forward_runtime(device, precision)}
