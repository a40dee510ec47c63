"""Samplers as generators of per-step records: the tutorial's mix sampler and the DDPM family.

Every sampler yields one ``SampleStep`` per step, so the UI streams them, the tests count them
and the CLI prints them. Nobody re-implements the loop.

* ``mix_sample`` is the tutorial's sampler for ``BasicUNet`` (tutorial section "采样"), exactly:

      x = torch.rand(B, C, H, W)                      # start from uniform noise in [0, 1)
      for i in range(n_steps):
          pred = net(x)                               # 1. predict the clean image x0
          mix_factor = 1 / (n_steps - i)              # 2. how far to move towards it
          x = x * (1 - mix_factor) + pred * mix_factor   # 3. move part of the way there

* ``scheduler_sample`` is the tutorial's DDPM loop (section "与 DDPM 做比较 · 采样") with any of four
  diffusers schedulers built with ``from_config`` from the model's training scheduler:
  ``"ddpm"`` (``DDPMScheduler``, ancestral, DDPM eq. 6-7 and algorithm 2), ``"ddim"``
  (``DDIMScheduler``, eta = 0, deterministic), ``"dpm++"`` (``DPMSolverMultistepScheduler``,
  2nd-order multistep DPM-Solver++) and ``"euler"`` (``EulerDiscreteScheduler``)::

      x = randn(B, C, H, W) * scheduler.init_noise_sigma
      for t in scheduler.timesteps:
          x_t = scheduler.scale_model_input(x, t)       # 1. what the network sees at t
          noise_pred = unet(x_t, t).sample              # 2. predict the noise
          x = scheduler.step(noise_pred, t, x).prev_sample   # 3. one step towards x0

  ``DDPMPipeline`` skips ``init_noise_sigma`` and ``scale_model_input``: harmless for DDPM and
  DDIM (both are 1 / identity), wrong for Euler, whose sample lives at scale
  ``sqrt(sigma^2 + 1)``. This loop applies both, so every scheduler works. For the same unet,
  scheduler, generator and step count, the ``"ddpm"`` result equals ``DDPMPipeline(...)``.

* **GPU fast path** (``fast=True``, CUDA only, ``"ddpm"`` and ``"ddim"``): one whole step
  (the UNet plus the scheduler update) is captured once in a CUDA graph and replayed. The
  update is written as one affine formula whose per-step coefficients sit in tables on the
  device, indexed by a step counter that also lives on the device:

      pred_x0 = (x_t - sqrt(1 - alpha_bar_t) * noise_pred) / sqrt(alpha_bar_t)  (clipped as the scheduler does)
      x_prev  = a_i * pred_x0 + b_i * x_t + c_i * noise_pred + d_i * z_i

  DDPM: ``a, b`` are the posterior-mean coefficients of DDPM eq. 7, ``c = 0``, ``d`` the
  posterior standard deviation (0 at t = 0); DDIM (eta = 0): ``a = sqrt(alpha_bar_prev)``,
  ``b = 0``, ``c = sqrt(1 - alpha_bar_prev)``, ``d = 0``. The noises ``z_i`` are drawn up front
  with the caller's generator in the order diffusers draws them. The coefficients are computed
  with the scheduler's own float32 formulas, so the same records come out: on the CPU the
  tabled step matches ``scheduler.step`` to ``TABLE_ATOL`` (checked by the tests); on CUDA the
  graph replays the same kernels, and the final image matches the plain path within
  ``FAST_PATH_ATOL`` (max absolute difference, images in [-1, 1]).

* **CPU bfloat16** (``precision="bf16"``, any scheduler): the UNet forward runs under CPU
  autocast and its noise prediction is cast back to float32, so the scheduler steps in float32 as
  before. It is slower than float32 where bfloat16 is emulated, and no faster where it is native
  (``cpu_speed``'s measurements), so the app asks for it only when told (``cpu_speed.forward_precision``);
  the final image stays within ``BF16_ATOL`` of the float32 one (checked by the tests).

* **ONNX Runtime on the CPU** (``runtime="onnxruntime"``, any scheduler, float32): the UNet forward runs on
  ONNX Runtime (``diffusion_core.onnx_unet``: exported once per model, ~1.7x eager PyTorch on 2 cores); the
  scheduler steps in PyTorch as before. Each forward matches PyTorch's within ``onnx_unet.ONNX_ATOL``
  (checked by the tests).

Records hold tensors on the sampling device; the last record's ``x_prev`` is the result.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch
from torch import nn

from diffusion_core import cpu_speed, onnx_unet
from diffusion_core.checkpoints import BASIC_UNET_DIR, DDPM_DIR, load_basic_unet, load_ddpm_pipeline
from diffusion_core.checks import whole_number
from diffusion_core.models import unet2d_image_shape
from diffusion_core.noising import predict_x0

if TYPE_CHECKING:  # diffusers is imported when first used (ARCHITECTURE.md, "Start-up")
    from diffusers import (
        DDIMScheduler,
        DDPMPipeline,
        DDPMScheduler,
        DPMSolverMultistepScheduler,
        EulerDiscreteScheduler,
        UNet2DModel,
    )

SamplerName = Literal["ddpm", "ddim", "dpm++", "euler"]
SAMPLERS: tuple[SamplerName, ...] = ("ddpm", "ddim", "dpm++", "euler")
FAST_SAMPLERS: tuple[SamplerName, ...] = ("ddpm", "ddim")  # the ones the CUDA-graph step covers
PRECISIONS = ("fp32", "bf16")  # the UNet forward's precision on the CPU (cpu_speed.forward_precision picks)
MAX_BATCH = 256  # images per call (the UI allows 64)
MAX_MIX_STEPS = 1000
TABLE_ATOL = 1e-5  # tabled step vs scheduler.step on the CPU, per step, images in [-1, 1]
# CUDA graph vs plain loop, final image in [-1, 1]: one 8-bit grey level, so the shown images agree.
# Measured on an H200 with the bundled model: 1.8e-3 after 1000 DDPM steps, 3.2e-3 after 50 DDIM steps
# (every replayed step matches an eager forward within 1e-4; the chain amplifies float rounding).
FAST_PATH_ATOL = 2 / 255
BF16_ATOL = 0.1  # bf16 autocast vs float32: max |difference| of a final image in [-1, 1] (measured ~0.05)


@dataclass(frozen=True)
class SampleStep:
    """One step of a sampler. Tensors are (B, C, H, W) on the sampling device.

    Attributes:
        step: 0-based index of this step; a sampler with N steps yields step = 0 .. N-1.
        t: the timestep the network is asked about (``scheduler.timesteps[step]``; a float for
            Euler). For ``mix_sample``, the share of the way still to go, ``1 - step / n_steps``
            (1.0 = pure noise), which is the noise ``amount`` the tutorial's corruption would give.
        x_t: the network's input at this step (after ``scale_model_input``). For DDPM samplers in
            [-1, 1] plus noise; for ``mix_sample`` in [0, 1] ("x (model input)" in the tutorial's figure).
        pred_x0: the predicted clean image. ``mix_sample``: the network output ("model prediction").
            Scheduler samplers: ``(x_t - sqrt(1 - alpha_bar_t) noise_pred) / sqrt(alpha_bar_t)``,
            as returned by the scheduler where it returns one (DDPM and DDIM clip it to [-1, 1]).
        noise_pred: the predicted noise (scheduler samplers); None for ``mix_sample``.
        x_prev: the sample after this step (``scheduler.step(...).prev_sample``, or the mixed x);
            the last record's ``x_prev`` is the final image.
    """

    step: int
    t: float | int
    x_t: torch.Tensor
    pred_x0: torch.Tensor
    noise_pred: torch.Tensor | None
    x_prev: torch.Tensor


# ----------------------------------------------------------------------------------------------
# The tutorial's mix sampler
# ----------------------------------------------------------------------------------------------


def _module_device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def mix_sample(
    net: nn.Module,
    n_steps: int = 5,
    batch_size: int = 8,
    generator: torch.Generator | None = None,
    image_size: int = 28,
    channels: int | None = None,
) -> Iterator[SampleStep]:
    """The tutorial's sampler: start from ``torch.rand``; each step move ``1/(n_steps - i)`` towards the prediction.

    Args:
        net: a network predicting the clean image from a corrupted one, e.g. ``BasicUNet``; used
            on its own device, under ``torch.no_grad``.
        n_steps: the number of steps, 1 .. ``MAX_MIX_STEPS`` (the seed uses 5).
        batch_size: images to generate, 1 .. ``MAX_BATCH`` (the seed uses 8).
        generator: draws the starting noise; seed it to reproduce a run.
        image_size: the side of the square images (28 for MNIST), a multiple of 4.
        channels: image channels; default: the network's input channels.

    Returns:
        An iterator of ``n_steps`` records (arguments are checked at the call, the starting noise
        is drawn at the call); ``x_t`` and ``pred_x0`` are in [0, 1] give or take what the network does.
    """
    n_steps = whole_number(n_steps, "n_steps", 1, MAX_MIX_STEPS)
    batch_size = whole_number(batch_size, "batch_size", 1, MAX_BATCH)
    image_size = whole_number(image_size, "image_size", 4, 256)
    if image_size % 4:
        raise ValueError(f"image_size must be a multiple of 4 (two 2x poolings), got {image_size}")
    if channels is None:
        first = next((m for m in net.modules() if isinstance(m, nn.Conv2d)), None)
        channels = first.in_channels if first is not None else 1
    # the seed: x = torch.rand(8, 1, 28, 28).to(device)  -- drawn on the CPU, then moved
    x = torch.rand(batch_size, channels, image_size, image_size, generator=generator).to(_module_device(net))
    return _mix_steps(net, n_steps, x)


def _mix_steps(net: nn.Module, n_steps: int, x: torch.Tensor) -> Iterator[SampleStep]:
    for i in range(n_steps):
        with torch.no_grad():  # no need to track gradients during inference
            pred = net(x)  # 1. predict the denoised x0
        mix_factor = 1 / (n_steps - i)  # 2. how much we move towards the prediction
        x_next = x * (1 - mix_factor) + pred * mix_factor  # 3. move part of the way there
        yield SampleStep(step=i, t=1 - i / n_steps, x_t=x, pred_x0=pred, noise_pred=None, x_prev=x_next)
        x = x_next


# ----------------------------------------------------------------------------------------------
# The DDPM family through diffusers schedulers
# ----------------------------------------------------------------------------------------------


def make_sampler_scheduler(
    scheduler_or_config: object, sampler: str
) -> DDPMScheduler | DDIMScheduler | DPMSolverMultistepScheduler | EulerDiscreteScheduler:
    """A fresh scheduler of kind ``sampler`` built with ``from_config`` from a training scheduler.

    Never mutates the argument: ``set_timesteps`` and ``step`` change a scheduler's state, so
    every sampling call gets its own.

    Args:
        scheduler_or_config: a diffusers scheduler or its ``config`` (e.g. the DDPMScheduler
            the model was trained with: ``squaredcos_cap_v2``, T = 1000 in the seed).
        sampler: ``"ddpm"``, ``"ddim"``, ``"dpm++"`` or ``"euler"``.
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown scheduler {sampler!r}: choose one of {', '.join(SAMPLERS)}")
    config = getattr(scheduler_or_config, "config", scheduler_or_config)
    if not hasattr(config, "get") or "num_train_timesteps" not in config:
        raise ValueError("expected a diffusers scheduler or its config (with num_train_timesteps)")
    if config.get("prediction_type", "epsilon") != "epsilon":
        raise ValueError(
            f"only noise-predicting models are supported, got prediction_type={config['prediction_type']!r}"
        )
    from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler

    if sampler == "ddpm":
        return DDPMScheduler.from_config(config)
    if sampler == "ddim":
        return DDIMScheduler.from_config(config)
    if sampler == "dpm++":
        return DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++", solver_order=2)
    return EulerDiscreteScheduler.from_config(config)


def check_sampling_args(
    unet: UNet2DModel, scheduler_or_config: object, sampler: str, num_inference_steps: int, batch_size: int
) -> int:
    """Validate the arguments of ``scheduler_sample``; return the number of training timesteps T."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown scheduler {sampler!r}: choose one of {', '.join(SAMPLERS)}")
    config = getattr(scheduler_or_config, "config", scheduler_or_config)
    if not hasattr(config, "get") or "num_train_timesteps" not in config:
        raise ValueError("expected a diffusers scheduler or its config (with num_train_timesteps)")
    num_train_timesteps = int(config["num_train_timesteps"])
    whole_number(num_inference_steps, "num_inference_steps", 1, num_train_timesteps)
    whole_number(batch_size, "batch_size", 1, MAX_BATCH)
    from diffusers import UNet2DModel

    if not isinstance(unet, UNet2DModel):
        raise ValueError(f"expected a diffusers UNet2DModel, got {type(unet).__name__}")
    return num_train_timesteps


def scheduler_sample(
    unet: UNet2DModel,
    scheduler: object,
    sampler: str = "ddpm",
    num_inference_steps: int = 1000,
    batch_size: int = 8,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    fast: bool = False,
    x_T: torch.Tensor | None = None,
    precision: str = "fp32",
    runtime: str = "torch",
) -> Iterator[SampleStep]:
    """Sample with a diffusers scheduler, one record per step (the tutorial's DDPM loop, written out).

    Args:
        unet: a noise-predicting ``UNet2DModel`` (e.g. the tutorial's config); used on its own
            device under ``torch.no_grad`` and never modified.
        scheduler: the scheduler the model was trained with, or its config; a fresh scheduler of
            kind ``sampler`` is built from it (``make_sampler_scheduler``).
        sampler: ``"ddpm"``, ``"ddim"``, ``"dpm++"`` or ``"euler"``.
        num_inference_steps: steps (model evaluations), 1 .. T.
        batch_size: images, 1 .. ``MAX_BATCH``.
        generator: draws the starting noise and DDPM's per-step noise, in the order ``DDPMPipeline``
            draws them; seed it to reproduce a run.
        device: must be the unet's device if given (default: the unet's device).
        fast: use the CUDA-graph step (CUDA, ``"ddpm"``/``"ddim"`` only; see the module docstring).
        x_T (`torch.Tensor`, (batch_size, C, H, W), optional): the starting noise in N(0, I) units
            (scaled by the scheduler's ``init_noise_sigma`` like the drawn one), on any device;
            default: drawn from ``generator``. Another start (e.g. ``torch.rand``) shows what
            the model does with noise it was not trained on.
        precision: ``"fp32"`` (the plain forward, the yardstick) or ``"bf16"``: the UNet forward under
            CPU bfloat16 autocast, its noise prediction cast back to float32 before the scheduler step
            (CPU only; measured no faster than float32 for this forward, see ``cpu_speed.forward_precision``).
        runtime: ``"torch"`` (the yardstick) or ``"onnxruntime"``: the UNet forward on ONNX Runtime (CPU, float32,
            ``precision="fp32"``, not ``fast``; exported on first use, see ``diffusion_core.onnx_unet``).

    Returns:
        An iterator of ``num_inference_steps`` records (arguments are checked and the starting noise
        drawn at the call); the last ``x_prev`` is the sample, (B, C, H, W), roughly in [-1, 1].
    """
    check_sampling_args(unet, scheduler, sampler, num_inference_steps, batch_size)
    unet_device = _module_device(unet)
    wanted = torch.device(device) if device is not None else unet_device
    if wanted.type != unet_device.type or (wanted.index is not None and wanted != unet_device):
        raise ValueError(f"the unet is on {unet_device}, not {device}: move it first (.to(device))")
    device = unet_device
    dtype = unet.dtype
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "bf16" and (fast or device.type != "cpu"):
        raise ValueError("precision='bf16' is the CPU's autocast: use it on the CPU, without fast=True")
    if onnx_unet.check_runtime(runtime) == "onnxruntime" and (fast or precision != "fp32" or device.type != "cpu"):
        raise ValueError("runtime='onnxruntime' runs the float32 forward on the CPU: no fast=True, no bf16")
    if fast:
        if device.type != "cuda" or not torch.cuda.is_available():
            raise ValueError("the fast path needs a CUDA GPU; use fast=False here")
        if sampler not in FAST_SAMPLERS:
            raise ValueError(f"the fast path covers {', '.join(FAST_SAMPLERS)}, not {sampler!r}")
    sched = make_sampler_scheduler(scheduler, sampler)
    sched.set_timesteps(num_inference_steps, device=device)

    # 0. start from pure noise N(0, I), scaled to the scheduler's starting spread (1 for DDPM/DDIM)
    shape = (batch_size, *unet2d_image_shape(unet))
    if x_T is None:
        from diffusers.utils.torch_utils import randn_tensor

        x = randn_tensor(shape, generator=generator, device=device, dtype=dtype)
    elif not isinstance(x_T, torch.Tensor) or tuple(x_T.shape) != shape:
        got = tuple(x_T.shape) if isinstance(x_T, torch.Tensor) else type(x_T).__name__
        raise ValueError(f"x_T must be a tensor of shape {shape}, got {got}")
    else:
        x = x_T.to(device=device, dtype=dtype)
    x = x * sched.init_noise_sigma
    if fast:
        return _graph_steps(unet, sched, x, generator)
    if runtime == "onnxruntime":
        return _plain_steps(unet, sched, x, generator, forward=onnx_unet.onnx_forward(unet))
    return _plain_steps(unet, sched, x, generator, autocast_bf16=precision == "bf16")


def _alpha_bar_at(sched: object, t: torch.Tensor, step_index: int) -> torch.Tensor | None:
    """alpha_bar at timestep t (through sigma for Euler, whose timesteps may be fractional)."""
    from diffusers import EulerDiscreteScheduler

    if isinstance(sched, EulerDiscreteScheduler):
        sigma = sched.sigmas[step_index]
        return 1 / (sigma**2 + 1)
    return sched.alphas_cumprod.to(t.device)[int(t)]


def _plain_steps(
    unet: UNet2DModel,
    sched: object,
    x: torch.Tensor,
    generator: torch.Generator | None,
    autocast_bf16: bool = False,
    forward: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> Iterator[SampleStep]:
    """The loop of ``scheduler_sample``; ``forward(x_t, t) -> noise_pred`` replaces ``unet(x_t, t).sample``."""
    for i, t in enumerate(sched.timesteps):
        # 1. the input the network expects at t (identity for DDPM/DDIM/DPM++, / sqrt(sigma^2+1) for Euler)
        x_t = sched.scale_model_input(x, t)
        # 2. predict the noise (in bfloat16 where the CPU has it, or on ONNX Runtime; the scheduler steps in float32)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast_bf16):
            noise_pred = unet(x_t, t).sample if forward is None else forward(x_t, t)
        noise_pred = noise_pred.to(x.dtype)
        # 3. one scheduler step: x_t -> x_{t_prev} (DDPM draws fresh noise here, with the generator)
        output = sched.step(noise_pred, t, x, generator=generator)
        # 4. the predicted x0: the scheduler's own where it reports one, else DDPM eq. 4 solved for x0
        pred_x0 = getattr(output, "pred_original_sample", None)
        if pred_x0 is None:
            pred_x0 = predict_x0(x_t, noise_pred, _alpha_bar_at(sched, t, i))
        t_value = float(t) if t.is_floating_point() else int(t)
        yield SampleStep(step=i, t=t_value, x_t=x_t, pred_x0=pred_x0, noise_pred=noise_pred, x_prev=output.prev_sample)
        x = output.prev_sample


# ----------------------------------------------------------------------------------------------
# The fast path: per-step coefficient tables and a CUDA-graph-captured step
# ----------------------------------------------------------------------------------------------


@dataclass
class StepTables:
    """Per-step coefficients of the affine update ``x_prev = a pred_x0 + b x_t + c noise_pred + d z``.

    Every field is a float32 (or int64 for ``timesteps``) tensor of shape (N,), N = steps.
    """

    timesteps: torch.Tensor  # t of each step (int64)
    sqrt_alpha_bar: torch.Tensor  # sqrt(alpha_bar_t)
    sqrt_one_minus_alpha_bar: torch.Tensor  # sqrt(1 - alpha_bar_t)
    a: torch.Tensor  # weight of pred_x0
    b: torch.Tensor  # weight of x_t
    c: torch.Tensor  # weight of noise_pred
    d: torch.Tensor  # standard deviation of the fresh noise z (0 where none is drawn)
    clip: float | None  # clip pred_x0 to [-clip, clip], or None

    @property
    def draws_noise(self) -> torch.Tensor:
        """Which steps draw fresh noise (bool, (N,)): DDPM's steps with t > 0."""
        return self.d > 0

    def to(self, device: torch.device) -> StepTables:
        moved = {name: getattr(self, name).to(device) for name in ("timesteps", "sqrt_alpha_bar",
                 "sqrt_one_minus_alpha_bar", "a", "b", "c", "d")}  # fmt: skip
        return StepTables(**moved, clip=self.clip)


def step_tables(sched: DDPMScheduler | DDIMScheduler) -> StepTables:
    """The coefficient tables of a DDPM or DDIM (eta = 0) scheduler after ``set_timesteps``.

    Each coefficient is computed with the scheduler's own float32 expressions, step by step, so
    the tabled update reproduces ``scheduler.step``.
    """
    from diffusers import DDIMScheduler, DDPMScheduler

    if sched.config.get("thresholding", False):
        raise ValueError("the fast path does not support dynamic thresholding")
    alphas_cumprod = sched.alphas_cumprod.cpu()
    rows: list[tuple[float, ...]] = []
    timesteps = sched.timesteps.cpu()
    for t in timesteps:
        t = int(t)
        alpha_prod_t = alphas_cumprod[t]
        beta_prod_t = 1 - alpha_prod_t
        if isinstance(sched, DDPMScheduler):
            if sched.config.variance_type not in ("fixed_small", None):
                raise ValueError(
                    f"the fast path supports variance_type 'fixed_small', not {sched.config.variance_type!r}"
                )
            prev_t = int(sched.previous_timestep(t))
            alpha_prod_t_prev = alphas_cumprod[prev_t] if prev_t >= 0 else sched.one
            beta_prod_t_prev = 1 - alpha_prod_t_prev
            current_alpha_t = alpha_prod_t / alpha_prod_t_prev
            current_beta_t = 1 - current_alpha_t
            a = (alpha_prod_t_prev ** (0.5) * current_beta_t) / beta_prod_t  # DDPM eq. 7, weight of x0
            b = current_alpha_t ** (0.5) * beta_prod_t_prev / beta_prod_t  # DDPM eq. 7, weight of x_t
            c = torch.tensor(0.0)
            d = sched._get_variance(t) ** 0.5 if t > 0 else torch.tensor(0.0)  # posterior std, fixed_small
        elif isinstance(sched, DDIMScheduler):
            prev_t = t - sched.config.num_train_timesteps // sched.num_inference_steps
            alpha_prod_t_prev = alphas_cumprod[prev_t] if prev_t >= 0 else sched.final_alpha_cumprod
            a = alpha_prod_t_prev ** (0.5)  # DDIM eq. 12, "predicted x0" term
            b = torch.tensor(0.0)
            c = (1 - alpha_prod_t_prev - 0.0) ** (0.5)  # "direction pointing to x_t", eta = 0
            d = torch.tensor(0.0)
        else:
            raise ValueError(f"no coefficient tables for {type(sched).__name__}")
        rows.append((float(beta_prod_t ** (0.5)), float(alpha_prod_t ** (0.5)), float(a), float(b), float(c), float(d)))
    columns = torch.tensor(rows, dtype=torch.float32).T
    clip = float(sched.config.clip_sample_range) if sched.config.get("clip_sample", False) else None
    return StepTables(
        timesteps=timesteps.to(torch.int64),
        sqrt_one_minus_alpha_bar=columns[0].contiguous(),
        sqrt_alpha_bar=columns[1].contiguous(),
        a=columns[2].contiguous(),
        b=columns[3].contiguous(),
        c=columns[4].contiguous(),
        d=columns[5].contiguous(),
        clip=clip,
    )


def draw_step_noise(
    tables: StepTables, shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device, dtype
) -> torch.Tensor:
    """The per-step noises z_i (N, B, C, H, W), drawn in the order ``scheduler.step`` draws them.

    Steps that draw none (t = 0, DDIM) hold zeros. Noise is drawn on the generator's device, as
    ``randn_tensor`` does, then moved to ``device`` once.
    """
    from diffusers.utils.torch_utils import randn_tensor

    draw_device = generator.device if generator is not None else device
    noise = torch.zeros((len(tables.timesteps), *shape), dtype=dtype, device=draw_device)
    for i, draws in enumerate(tables.draws_noise.tolist()):
        if draws:
            noise[i] = randn_tensor(shape, generator=generator, device=draw_device, dtype=dtype)
    return noise.to(device)


def tabled_step(
    unet: UNet2DModel, tables: StepTables, noise: torch.Tensor, x_t: torch.Tensor, index: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One sampling step from the tables, without host syncs (capturable in a CUDA graph).

    Args:
        tables: ``step_tables(...)`` on the device of ``x_t``.
        noise: ``draw_step_noise(...)``, (N, B, C, H, W).
        x_t: the sample, (B, C, H, W).
        index: the step index, an int64 tensor of shape (1,) on the same device.

    Returns:
        ``(noise_pred, pred_x0, x_prev)``.
    """

    def at(table: torch.Tensor) -> torch.Tensor:
        return torch.index_select(table, 0, index)  # (1,): broadcasts over (B, C, H, W)

    # 1. predict the noise at t = timesteps[index]
    noise_pred = unet(x_t, at(tables.timesteps)).sample
    # 2. predicted x0 (DDPM eq. 4 solved for x0), clipped as the scheduler clips it
    pred_x0 = (x_t - at(tables.sqrt_one_minus_alpha_bar) * noise_pred) / at(tables.sqrt_alpha_bar)
    if tables.clip is not None:
        pred_x0 = pred_x0.clamp(-tables.clip, tables.clip)
    # 3. the affine update with this step's coefficients and noise
    z = torch.index_select(noise, 0, index)[0]
    x_prev = at(tables.a) * pred_x0 + at(tables.b) * x_t
    x_prev = x_prev + at(tables.c) * noise_pred
    x_prev = x_prev + at(tables.d) * z
    return noise_pred, pred_x0, x_prev


def _graph_steps(
    unet: UNet2DModel, sched: DDPMScheduler | DDIMScheduler, x: torch.Tensor, generator: torch.Generator | None
) -> Iterator[SampleStep]:
    """Capture one whole step in a CUDA graph, then replay it once per step."""
    device = x.device
    tables = step_tables(sched).to(device)
    noise = draw_step_noise(tables, tuple(x.shape), generator, device, x.dtype)
    timesteps = tables.timesteps.tolist()
    # static buffers: the graph reads and writes these same addresses on every replay
    static_x = x.clone()
    static_noise_pred = torch.empty_like(x)
    static_pred_x0 = torch.empty_like(x)
    index = torch.zeros(1, dtype=torch.int64, device=device)

    def body() -> None:
        noise_pred, pred_x0, x_prev = tabled_step(unet, tables, noise, static_x, index)
        static_noise_pred.copy_(noise_pred)
        static_pred_x0.copy_(pred_x0)
        static_x.copy_(x_prev)
        index.add_(1)

    with torch.no_grad():
        # 1. warm up on a side stream (allocator, cuDNN/cuBLAS handles), as CUDA graphs require
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(2):
                body()
        torch.cuda.current_stream(device).wait_stream(side)
        # 2. capture one step (capturing records the kernels; it does not run them)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            body()
        # 3. reset the state the warm-up changed, then replay once per step
        static_x.copy_(x)
        index.zero_()
        x_t = static_x.clone()
        for i in range(len(timesteps)):
            graph.replay()
            x_prev = static_x.clone()
            yield SampleStep(
                step=i,
                t=timesteps[i],
                x_t=x_t,
                pred_x0=static_pred_x0.clone(),
                noise_pred=static_noise_pred.clone(),
                x_prev=x_prev,
            )
            x_t = x_prev


def fast_path_available(device: torch.device | str | None = None) -> bool:
    """True where the CUDA-graph fast path can run (a CUDA device)."""
    if not torch.cuda.is_available():
        return False
    return device is None or torch.device(device).type == "cuda"


def final_sample(steps: Iterator[SampleStep]) -> torch.Tensor:
    """Drain a sampler and return only the final image ``x_prev`` of its last step."""
    last = None
    for record in steps:
        last = record
    if last is None:
        raise ValueError("the sampler yielded no steps")
    return last.x_prev


# ----------------------------------------------------------------------------------------------
# The pipeline, and the bundled models (read-only, cached)
# ----------------------------------------------------------------------------------------------


@functools.cache
def _watched_pipeline() -> type[DDPMPipeline]:
    """``DDPMPipeline`` whose step loop asks ``on_step(i)`` before step i and ends when it says True.

    ``DDPMPipeline.__call__`` walks ``self.progress_bar(timesteps)``; this bar is that loop, so an
    early end leaves ``__call__`` to map the current x_t to [0, 1] and return it, as after the last step.
    The class is made on first use, when diffusers is imported.
    """
    from diffusers import DDPMPipeline

    class WatchedPipeline(DDPMPipeline):
        on_step: Callable[[int], bool] | None = None

        def progress_bar(self, iterable=None, total=None):
            bar = super().progress_bar(iterable, total)
            if iterable is None or self.on_step is None:
                return bar
            return self._watched(bar)

        def _watched(self, bar: Iterable) -> Iterator:
            try:
                for index, item in enumerate(bar):
                    if self.on_step(index):
                        return
                    yield item
            finally:
                getattr(bar, "close", lambda: None)()  # an early end closes tqdm's bar too

    return WatchedPipeline


def pipeline_sample(
    pipeline: DDPMPipeline,
    num_inference_steps: int,
    batch_size: int,
    generator: torch.Generator | None = None,
    progress_bar: bool = False,
    on_step: Callable[[int], bool] | None = None,
) -> torch.Tensor:
    """Run ``DDPMPipeline`` as the seed does and return images (B, C, H, W) in [0, 1] on the CPU.

    The pipeline's own scheduler is not touched: a copy built with ``from_config`` runs the call.
    ``progress_bar`` shows diffusers' tqdm bar (the UI mirrors it). ``on_step(i)``, if given, is asked
    before step i (0-based) and returns True to end the run there: the images are then the current
    x_t mapped to [0, 1] (still noisy), exactly what the pipeline would map after its last step.
    """
    from diffusers import DDPMScheduler

    unet = pipeline.unet
    check_sampling_args(unet, pipeline.scheduler, "ddpm", num_inference_steps, batch_size)
    fresh = _watched_pipeline()(unet=unet, scheduler=DDPMScheduler.from_config(pipeline.scheduler.config))
    fresh.on_step = on_step
    fresh.set_progress_bar_config(disable=not progress_bar)
    with torch.no_grad():
        output = fresh(batch_size=batch_size, generator=generator, num_inference_steps=num_inference_steps,
                       output_type="pt")  # fmt: skip
    return output.images.float().cpu()  # "pt" output: (B, C, H, W) in [0, 1]


@functools.lru_cache(maxsize=2)
def bundled_basic_unet(device: str = "cpu") -> nn.Module:
    """The bundled BasicUNet (``assets/checkpoints/basic_unet``), loaded once per device; treat as read-only.

    Raises:
        ValueError: if the checkpoint is missing (failures are not cached, so it is found once it lands).
    """
    model = load_basic_unet(BASIC_UNET_DIR, device=device)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def prepare_bundled_forward(device: str = "cpu") -> None:
    """Load the bundled model on ``device`` and, where the sampler will run it on ONNX Runtime
    (``cpu_speed.forward_runtime``), export it now (about 3 s on 2 cores) so the first sampling run does not
    wait for it. The app calls it when a learner first opens the Sampling tab: a server where nobody samples
    never holds the ONNX Runtime session (~60-100 MiB with its export, BENCHMARKS.md)."""
    unet = bundled_ddpm(device).unet
    if cpu_speed.sampling_forward(device)["runtime"] == "onnxruntime":
        onnx_unet.onnx_forward(unet)


@functools.lru_cache(maxsize=2)
def bundled_ddpm(device: str = "cpu") -> DDPMPipeline:
    """The bundled DDPMPipeline (``assets/checkpoints/ddpm_mnist``), loaded once per device; treat as read-only.

    Never call ``bundled_ddpm().scheduler.set_timesteps``/``step``: build a scheduler from its config.
    """
    pipeline = load_ddpm_pipeline(DDPM_DIR, device=device)
    for parameter in pipeline.unet.parameters():
        parameter.requires_grad_(False)
    return pipeline


__all__ = [
    "FAST_PATH_ATOL",
    "SAMPLERS",
    "SampleStep",
    "bundled_basic_unet",
    "bundled_ddpm",
    "final_sample",
    "mix_sample",
    "pipeline_sample",
    "prepare_bundled_forward",
    "scheduler_sample",
]
