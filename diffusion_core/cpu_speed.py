"""Which UNet forward pays on this CPU: float32 PyTorch (the yardstick), bfloat16 autocast, or ONNX Runtime.

bfloat16 halves the bytes a convolution moves, but only CPUs with bfloat16 instructions
(``avx512_bf16``, or Intel AMX's ``amx_bf16``) run it natively. Elsewhere oneDNN emulates it and
a UNet2DModel forward is about 20x *slower* (measured: 5.3 s against 0.25 s for 16 MNIST digits on
an AVX2-only AMD EPYC). So the sampler asks ``forward_precision(device)`` and autocasts only where
the CPU reports one of those flags.

Measured and not kept (same machine, same run, against the eager float32 forward; see the
``sampling`` benchmark): channels_last (slower, 0.37 s vs 0.25 s), ``torch.inference_mode``
(no gain over ``no_grad``), two batches of 8 (slower), SDPA's math kernel (slower),
``torch.compile`` (inductor; ~200 s to compile, ~70 s to reload from the FX graph cache in a
fresh process under load, a recompile for every new batch size and thread count, and a forward
~20-25% faster, measured under load).

Kept: ONNX Runtime (``diffusion_core.onnx_unet``), the float32 forward about 1.7x faster than eager on the
same machine, with the same results to float rounding. ``forward_runtime`` picks it for the float32 forward on
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
ENV_OVERRIDE = "DIFFUSION_EXPLORER_CPU_PRECISION"  # "fp32" or "bf16": force a choice (e.g. to compare)


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


def bf16_pays(flags: frozenset[str]) -> bool:
    """True if a CPU with these flags runs bfloat16 natively (so autocast speeds the forward up)."""
    return bool(flags & BF16_FLAGS)


def forward_precision(device: torch.device | str, flags: frozenset[str] | None = None,
                      override: str | None = None) -> Precision:  # fmt: skip
    """The precision of the UNet forward while sampling on ``device``.

    ``"bf16"`` on a CPU with native bfloat16 (``bf16_pays``), else ``"fp32"``; always ``"fp32"`` off
    the CPU (the GPU has its own fast path). ``override`` (default: ``$DIFFUSION_EXPLORER_CPU_PRECISION``)
    forces ``"fp32"`` or ``"bf16"`` on the CPU.

    Raises:
        ValueError: if ``override`` is neither ``"fp32"`` nor ``"bf16"``.
    """

    if torch.device(device).type != "cpu":
        return "fp32"
    override = os.environ.get(ENV_OVERRIDE, "") if override is None else override
    if override:
        if override not in ("fp32", "bf16"):
            raise ValueError(f"{ENV_OVERRIDE} must be 'fp32' or 'bf16', got {override!r}")
        return override  # type: ignore[return-value]
    return "bf16" if bf16_pays(cpu_flags() if flags is None else flags) else "fp32"


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
