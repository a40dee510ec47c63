"""How long will a run take on this machine? Time one step here, cache it, multiply by the steps.

A run's time is almost all model calls: a sampler calls the network once per step, a training run
does one forward, backward and optimizer step per step. So an estimate is

    seconds = steps x (one measured step at this batch, on this device) + extra

where the step is measured on the machine at hand (a warm-up call, then up to a few timed calls
within ``MEASURE_BUDGET_S``), with the model and batch of the run itself. Measurements are cached
per (what was timed, model architecture, batch, image shape, device) for ``CACHE_TTL_S`` seconds,
so the estimate follows the machine's load without timing every run twice.

The wall-clock cap of one run (``run_cap_seconds``) comes from ``$DIFFUSION_EXPLORER_MAX_RUN_SECONDS``
(default ``DEFAULT_RUN_CAP_SECONDS``): a shared classroom server refuses a run whose estimate is
above it and stops one that reaches it.
"""

from __future__ import annotations

import copy
import json
import math
import os
import statistics
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from diffusion_core import onnx_unet
from diffusion_core.checks import seconds_from_env, whole_number
from diffusion_core.models import unet2d_image_shape

RUN_CAP_ENV = "DIFFUSION_EXPLORER_MAX_RUN_SECONDS"
DEFAULT_RUN_CAP_SECONDS = 600.0  # 10 minutes: one learner's run on a shared server
MEASURE_BUDGET_S = 1.0  # timed calls stop after this much measuring (one slow call is enough)
MEASURE_MAX_CALLS = 5  # at most: one warm-up call and four timed ones
CACHE_TTL_S = 600.0  # a measurement is reused this long, then taken again (the machine's load changes)
CACHE_SIZE = 256  # measurements kept (model x batch x shape x device), the oldest dropped first
MAX_BATCH = 4096


@dataclass(frozen=True)
class Estimate:
    """A predicted run time.

    Attributes:
        seconds: the whole run's predicted wall time, ``steps * step_seconds + extra_seconds``.
        step_seconds: one step as measured here (one model call, or one training step) at ``batch``.
        steps: steps the run makes (model calls, or optimizer steps).
        batch: images per step.
        device: where it was measured (``"cpu"``, ``"cuda"``, ``"mps"``).
        extra_seconds: predicted time beyond the steps (previews, scoring), >= 0.
    """

    seconds: float
    step_seconds: float
    steps: int
    batch: int
    device: str
    extra_seconds: float = 0.0


def run_cap_seconds(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds one run may take here: ``$DIFFUSION_EXPLORER_MAX_RUN_SECONDS``, else 600 (10 minutes).

    Read at every call, so a server's cap can be changed by its environment. A value that is not a
    positive finite number is ignored with a warning.
    """
    return seconds_from_env(environ, RUN_CAP_ENV, DEFAULT_RUN_CAP_SECONDS)


def over_cap(estimate: Estimate, cap_seconds: float) -> bool:
    """True when ``estimate`` predicts more than ``cap_seconds`` of wall time."""
    return estimate.seconds > cap_seconds


# ----------------------------------------------------------------------------------------------
# Measuring one step, cached
# ----------------------------------------------------------------------------------------------

_cache: OrderedDict[tuple, tuple[float, float]] = OrderedDict()  # key -> (measured at, seconds per call)
_cache_lock = threading.Lock()
_measuring: dict[tuple, threading.Lock] = {}  # key -> the lock of the measurement under way (one at a time)


def clear_cache() -> None:
    """Forget every measurement (the next estimate times its step again)."""
    with _cache_lock:
        _cache.clear()


def cached_measurements() -> int:
    """How many measurements are cached now."""
    with _cache_lock:
        return len(_cache)


def _device_of(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def model_key(model: nn.Module) -> str:
    """What makes two models equally fast: the class and its config (diffusers) or parameter shapes."""
    config = getattr(model, "config", None)
    if isinstance(config, Mapping):
        described = json.dumps({k: v for k, v in config.items() if not k.startswith("_")}, sort_keys=True,
                               default=str)  # fmt: skip
    else:
        described = ";".join(f"{name}{tuple(p.shape)}" for name, p in model.named_parameters())
    return f"{type(model).__name__}:{described}"


def sample_shape(model: nn.Module, image_size: int = 28) -> tuple[int, int, int]:
    """(C, H, W) of the images ``model`` takes: from a UNet2DModel's config, else its first convolution's
    input channels and ``image_size``."""
    if _is_unet2d(model):
        return unet2d_image_shape(model)
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return (first.in_channels if first is not None else 1), image_size, image_size


def _call(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """One network call as the samplers and the training loops make it.

    Timed, so it imports nothing: a UNet2DModel is told by its class's name and module (importing diffusers here
    cost ~5 s in a fresh process, which the first timing took for the call itself)."""
    if _is_unet2d(model):
        t = torch.randint(0, 1000, (x.shape[0],), device=x.device)
        return model(x, t).sample
    return model(x)


def _is_unet2d(model: nn.Module) -> bool:
    """Whether ``model`` is a diffusers ``UNet2DModel`` (or a subclass), without importing diffusers."""
    return any(c.__name__ == "UNet2DModel" and c.__module__.startswith("diffusers.") for c in type(model).__mro__)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def seconds_per_call(call: Callable[[], object], device: torch.device | str = "cpu") -> float:
    """Median wall seconds of ``call()`` after a warm-up call (which allocates), timed within
    ``MEASURE_BUDGET_S``. A warm-up call slower than the budget is the measurement itself: one slow
    call is measured well enough, and a second would double the wait."""
    device = torch.device(device)
    times: list[float] = []
    begin = time.perf_counter()
    while len(times) < MEASURE_MAX_CALLS:
        start = time.perf_counter()
        call()
        _synchronize(device)
        times.append(time.perf_counter() - start)
        if time.perf_counter() - begin > MEASURE_BUDGET_S:
            break
    return statistics.median(times[1:]) if len(times) > 1 else times[0]


def _measured(key: tuple, measure: Callable[[], float]) -> float:
    """The cached measurement under ``key`` if younger than ``CACHE_TTL_S``, else a new one (cached).

    One measurement of a key at a time: a caller that finds one under way waits for its result rather than
    measuring beside it (two at once would each see the other's load, and the slower figure would be kept)."""
    cached = _cached(key)
    if cached is not None:
        return cached
    with _cache_lock:
        key_lock = _measuring.setdefault(key, threading.Lock())
    with key_lock:
        cached = _cached(key)  # measured by the caller this one waited for
        if cached is not None:
            return cached
        try:
            seconds = measure()
            with _cache_lock:
                _cache[key] = (time.monotonic(), seconds)
                _cache.move_to_end(key)
                while len(_cache) > CACHE_SIZE:
                    _cache.popitem(last=False)
        finally:
            with _cache_lock:  # after the result is cached: a later caller finds the result, not a new lock
                _measuring.pop(key, None)
    return seconds


def _cached(key: tuple) -> float | None:
    """The measurement under ``key`` if it is younger than ``CACHE_TTL_S``, else None."""
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_TTL_S:
            _cache.move_to_end(key)
            return hit[1]
    return None


def forward_seconds(
    model: nn.Module, batch: int, shape: tuple[int, int, int] | None = None, runtime: str = "torch"
) -> float:
    """Seconds of one ``torch.no_grad`` network call on ``batch`` images of ``shape`` (C, H, W; default
    ``sample_shape(model)``), on the model's device: one sampling step. Measured once, then cached.
    ``runtime="onnxruntime"``: the call on ONNX Runtime (a UNet2DModel on the CPU, ``diffusion_core.onnx_unet``;
    the first measurement of a model includes no export time: the sampler pays that once per model)."""
    batch = whole_number(batch, "batch", 1, MAX_BATCH)
    shape = tuple(shape) if shape is not None else sample_shape(model)
    device = _device_of(model)
    dtype = next(model.parameters()).dtype
    onnx_unet.check_runtime(runtime)

    def measure() -> float:
        x = torch.randn(batch, *shape, device=device, dtype=dtype)
        if runtime == "onnxruntime":
            forward, t = onnx_unet.onnx_forward(model), torch.full((batch,), 500.0)
            return seconds_per_call(lambda: forward(x, t), device)
        with torch.no_grad():
            return seconds_per_call(lambda: _call(model, x), device)

    return _measured(("forward", model_key(model), batch, shape, str(device), str(dtype), runtime), measure)


def train_step_seconds(model: nn.Module, batch: int, shape: tuple[int, int, int] | None = None,
                       bf16: bool = False) -> float:  # fmt: skip
    """Seconds of one training step (forward, MSE loss, backward, Adam step) on ``batch`` images of
    ``shape`` (C, H, W), on the model's device; under bf16 autocast if ``bf16`` (as the run will compute,
    ``training.autocasts``). Timed on a copy, so ``model`` is never changed."""
    batch = whole_number(batch, "batch", 1, MAX_BATCH)
    shape = tuple(shape) if shape is not None else sample_shape(model)
    device = _device_of(model)

    def measure() -> float:
        trial = copy.deepcopy(model).train().requires_grad_(True)
        optimizer = torch.optim.Adam(trial.parameters(), lr=1e-4)
        x = torch.randn(batch, *shape, device=device)

        def step() -> None:
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = nn.functional.mse_loss(_call(trial, x).float(), x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        return seconds_per_call(step, device)

    return _measured(("train", model_key(model), batch, shape, str(device), bf16), measure)


# ----------------------------------------------------------------------------------------------
# Estimates of whole runs
# ----------------------------------------------------------------------------------------------


def _estimate(step_seconds: float, steps: int, batch: int, model: nn.Module, extra: float = 0.0) -> Estimate:
    return Estimate(steps * step_seconds + extra, step_seconds, steps, batch, _device_of(model).type, extra)


def sampling_estimate(
    model: nn.Module,
    steps: int,
    batch: int,
    shape: tuple[int, int, int] | None = None,
    extra_seconds: float = 0.0,
    runtime: str = "torch",
) -> Estimate:
    """A sampling run: ``steps`` network calls on ``batch`` images (any sampler: one call a step), plus
    ``extra_seconds`` (>= 0) the caller knows of (e.g. drawing its frames); ``runtime`` as the sampler's
    (``forward_seconds``)."""
    steps = whole_number(steps, "steps", 1, 10_000_000)
    if not (math.isfinite(extra_seconds) and extra_seconds >= 0):
        raise ValueError(f"extra_seconds must be a finite number >= 0, got {extra_seconds!r}")
    return _estimate(forward_seconds(model, batch, shape, runtime), steps, batch, model, extra_seconds)


def training_estimate(
    model: nn.Module,
    steps: int,
    batch: int,
    shape: tuple[int, int, int] | None = None,
    previews: int = 0,
    preview_batch: int = 8,
    bf16: bool = False,
) -> Estimate:
    """A training run: ``steps`` optimizer steps at ``batch`` (in bf16 if ``bf16``), plus ``previews`` preview
    calls of the model on ``preview_batch`` images (the Training tab's three rows every N steps)."""
    steps = whole_number(steps, "steps", 1, 10_000_000)
    previews = whole_number(previews, "previews", 0, 10_000_000)
    extra = previews * forward_seconds(model, preview_batch, shape) if previews else 0.0
    return _estimate(train_step_seconds(model, batch, shape, bf16=bf16), steps, batch, model, extra)


def quality_estimate(model: nn.Module, step_counts: list[int], n: int, score_seconds: float = 0.0,
                     runtime: str = "torch") -> Estimate:  # fmt: skip
    """The live quality recompute: one point per entry of ``step_counts`` (sampler x steps), each
    sampling ``n`` images with that many calls (on ``runtime``, as ``forward_seconds``), then scored
    (``score_seconds`` a point)."""
    if not step_counts:
        raise ValueError("step_counts must name at least one point")
    calls = sum(whole_number(s, "steps", 1, 10_000_000) for s in step_counts)
    extra = len(step_counts) * max(0.0, score_seconds)
    return _estimate(forward_seconds(model, n, runtime=runtime), calls, n, model, extra)


__all__ = [
    "DEFAULT_RUN_CAP_SECONDS",
    "RUN_CAP_ENV",
    "Estimate",
    "clear_cache",
    "forward_seconds",
    "model_key",
    "over_cap",
    "quality_estimate",
    "run_cap_seconds",
    "sample_shape",
    "sampling_estimate",
    "train_step_seconds",
    "training_estimate",
]
