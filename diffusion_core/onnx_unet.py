"""A UNet2DModel's forward on ONNX Runtime: the CPU's fast way to sample (1.6-2.2x eager PyTorch on 2 cores).

On the 2-core AMD EPYC (AVX2, no native bfloat16), one forward of the bundled model on 16 MNIST digits took
260 ms in eager float32 PyTorch (OMP_WAIT_POLICY=PASSIVE, as the app runs), 173 ms on ONNX Runtime 1.32 with 2
intra-op threads, and 139 ms on ONNX Runtime as two halves of 8 digits run at once on one thread each, in the same
run; the outputs differ by at most ~3e-6 (float rounding: all are float32). PyTorch spends the difference in its
convolutions (oneDNN, ~105 ms against ~67 ms) and in the overhead of ~500 small operators, each split across the
threads; ONNX Runtime runs the same graph with fused activations and blocked (NCHWc) convolutions, and the halves
need no synchronisation between threads inside an operator. ``bench --only sampling`` measures the whole grid.
On a 2-core AMD EPYC with AVX-512, with parts of at most ``PART_IMAGES`` digits: 1.6x (batch 32, 64) to 2.2x
(batch 8) eager, 1.9x at 256; before the parts were capped, a 64-digit batch ran at 0.86x.

How, once per model object (``onnx_forward``):

1. ``torch.onnx.export`` (the TorchScript exporter, opset 17, a dynamic batch axis) writes the network, with
   its weights, to memory: about 2 s on 2 cores. The timestep is a float32 input, so Euler's fractional
   timesteps work too (the embedding casts it to float32 anyway).
2. An ``onnxruntime.InferenceSession`` on the CPU execution provider, on one thread and without spin-waiting,
   runs it; a call splits the batch into parts of at most ``PART_IMAGES`` digits, at least as many as PyTorch
   has threads, and runs them on a pool of that many threads, shared by every model and request (a busy
   classroom server is not oversubscribed).

The export holds the weights as they were: ``OnnxForward`` notes each parameter's version counter and exports
again if the model was changed in place since. Needs ``onnx`` (the exporter) and ``onnxruntime``; without them
``available()`` is False and the samplers stay on PyTorch. ``DIFFUSION_EXPLORER_CPU_RUNTIME=torch`` forces
PyTorch (e.g. to compare).
"""

from __future__ import annotations

import functools
import importlib.util
import io
import math
import os
import threading
import time
import warnings
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from diffusion_core.models import unet2d_image_shape

if TYPE_CHECKING:
    from diffusers import UNet2DModel

RUNTIMES = ("torch", "onnxruntime")
RUNTIME_ENV = "DIFFUSION_EXPLORER_CPU_RUNTIME"  # "torch" forces PyTorch on the CPU; unset or "onnxruntime": auto
OPSET = 17
# Digits per session call. One call on more digits slows down faster than it grows (AVX-512 EPYC, 2 workers: a
# 64-digit batch as two calls of 32 took 425 ms against eager's 364 ms; as eight calls of 8, 170 ms, 2.15x).
PART_IMAGES = 8
ONNX_ATOL = 1e-4  # |ONNX Runtime - eager| of one forward, noise prediction ~N(0, 1) (measured ~3e-6)


def check_runtime(runtime: str) -> str:
    """``runtime`` if it is one of ``RUNTIMES``, else ``ValueError`` naming them."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
    return runtime


def available() -> bool:
    """True if ONNX Runtime and the exporter can be imported and ``$DIFFUSION_EXPLORER_CPU_RUNTIME`` allows it.

    Raises:
        ValueError: if the variable is set to something other than ``torch`` or ``onnxruntime``.
    """
    choice = os.environ.get(RUNTIME_ENV, "")
    if choice and choice not in RUNTIMES:
        raise ValueError(f"{RUNTIME_ENV} must be one of {', '.join(RUNTIMES)}, got {choice!r}")
    if choice == "torch":
        return False
    return all(importlib.util.find_spec(name) is not None for name in ("onnx", "onnxruntime"))


class _NoisePrediction(nn.Module):
    """``unet(x, t).sample`` as a module of tensors only, the form the exporter traces."""

    def __init__(self, unet: UNet2DModel) -> None:
        super().__init__()
        self.unet = unet

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.unet(x, t).sample


def _weights_version(unet: nn.Module) -> tuple[int, ...]:
    """Each parameter's and buffer's version counter: any in-place change (an optimizer step) bumps one."""
    return tuple(tensor._version for tensor in (*unet.parameters(), *unet.buffers()))


class OnnxForward:
    """``unet``'s noise prediction on ONNX Runtime: ``forward(x_t, t) -> noise_pred``.

    Args:
        unet: a ``UNet2DModel`` on the CPU in float32 (it is exported as it is now; not kept).
    """

    def __init__(self, unet: UNet2DModel) -> None:
        if unet.device.type != "cpu" or unet.dtype != torch.float32:
            raise ValueError(f"ONNX Runtime runs a float32 UNet on the CPU, not {unet.dtype} on {unet.device}")
        import onnxruntime

        start = time.perf_counter()
        example = (torch.zeros(2, *unet2d_image_shape(unet)), torch.zeros(2))
        graph = io.BytesIO()
        with warnings.catch_warnings():  # the tracer's notes on diffusers' shape asserts: expected, not news
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _NoisePrediction(unet).eval(), example, graph, input_names=["x", "t"], output_names=["noise"],
                dynamic_axes={"x": {0: "batch"}, "t": {0: "batch"}, "noise": {0: "batch"}},
                opset_version=OPSET, dynamo=False,
            )  # fmt: skip
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # the batch is split across threads instead (``__call__``)
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_cpu_mem_arena = False  # the arena kept ~30 MiB more after a forward, for no measured speed
        self._session = onnxruntime.InferenceSession(graph.getvalue(), options, providers=["CPUExecutionProvider"])
        self.version = _weights_version(unet)
        self.export_seconds = time.perf_counter() - start

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        """Predicted noise for ``x_t`` ((B, C, H, W) float32 on the CPU) at timestep ``t`` (a number, a 0-d or a
        (B,) tensor); returns (B, C_out, H, W) float32 on the CPU."""
        x = x_t.detach().to(torch.float32).contiguous().numpy()
        timesteps = torch.as_tensor(t, dtype=torch.float32).reshape(-1).expand(len(x)).contiguous().numpy()
        # 1. parts of at most PART_IMAGES digits, at least one per worker: the pool runs them side by side
        parts = max(min(len(x), _workers()), math.ceil(len(x) / PART_IMAGES))
        bounds = [len(x) * part // parts for part in range(parts + 1)]

        def run(part: int) -> object:  # ONNX Runtime lets go of the GIL while it runs
            begin, end = bounds[part], bounds[part + 1]
            return self._session.run(None, {"x": x[begin:end], "t": timesteps[begin:end]})[0]

        # 2. run them (in order of the batch) and put the batch back together
        if parts == 1:
            return torch.from_numpy(run(0))
        return torch.from_numpy(np.concatenate(list(_pool().map(run, range(parts)))))


def _workers() -> int:
    return max(1, torch.get_num_threads())


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    """The threads that run the parts of every call, one part each: as many as PyTorch's (set at first use)."""
    return ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="onnx-forward")


_forwards: weakref.WeakKeyDictionary[nn.Module, OnnxForward] = weakref.WeakKeyDictionary()
_export_lock = threading.Lock()


def onnx_forward(unet: UNet2DModel) -> OnnxForward:
    """The ONNX Runtime forward of ``unet``: exported on the first call (about 2 s), then kept while ``unet``
    lives; exported again if its weights changed in place since. Safe from several threads (one exports)."""
    with _export_lock:
        forward = _forwards.get(unet)
        if forward is None or forward.version != _weights_version(unet):
            forward = _forwards[unet] = OnnxForward(unet)
        return forward


__all__ = ["ONNX_ATOL", "RUNTIMES", "RUNTIME_ENV", "OnnxForward", "available", "check_runtime", "onnx_forward"]
