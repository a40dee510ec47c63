"""The comparison lab: samples in chunks, x0- vs noise-prediction, loss per timestep, failure modes.

What the Compare tab's sections ② to ④ compute, on the bundled models: ``generate`` samples through
the public ``diffusion_core.sampling`` API (also from a wrong, uniform start), ``compare_objectives``
puts BasicUNet's x0 guess beside UNet2DModel's implied one, ``loss_per_timestep`` measures the DDPM
loss at chosen t, and ``failure_samples`` samples the way a common mistake would.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from diffusion_core import cpu_speed, sampling
from diffusion_core.checks import whole_number
from diffusion_core.data import to_model_range, to_unit_range
from diffusion_core.metrics import check_images, class_balance, classify, mean_confidence
from diffusion_core.models import unet2d_image_shape
from diffusion_core.noising import predict_x0
from diffusion_core.quality_curves import SampleFn
from diffusion_core.sample_cache import ChunkDone, SampleCache


def generate(
    unet: nn.Module,
    scheduler: Any,
    sampler: str,
    steps: int,
    n: int,
    seed: int = 0,
    start: str = "randn",
    fast: bool = False,
    precision: str | None = None,
    runtime: str | None = None,
    cache: SampleCache | None = None,
    on_chunk: Callable[[ChunkDone], None] | None = None,
) -> torch.Tensor:
    """Sample ``n`` images with ``diffusion_core.sampling`` in chunks of ``sampling.MAX_BATCH``.

    Args:
        unet: a noise-predicting ``UNet2DModel`` (on any device).
        scheduler: the scheduler it was trained with (or its config).
        sampler: ``"ddpm"``, ``"ddim"``, ``"dpm++"`` or ``"euler"``.
        steps: sampling steps, 1..T.
        n: images, 1..10000.
        seed: one generator seeded with it draws every chunk's noise in turn.
        start: ``"randn"`` (x_T ~ N(0, I), correct) or ``"rand"`` (x_T ~ U[0, 1), the failure
            mode: the tutorial's ``corrupt`` noise where DDPM needs Gaussian noise).
        fast: use the sampling module's CUDA-graph step (CUDA, DDPM/DDIM, ``start="randn"`` only).
        precision, runtime: the UNet forward, as ``sampling.scheduler_sample`` takes them; ``None``: the one the
            app picks on ``unet``'s device (``cpu_speed.sampling_forward``: on the CPU, ONNX Runtime's float32
            forward, about 2x eager PyTorch, the same digits to ~1e-4; PyTorch float32 with ``fast``).
        cache: keeps each finished chunk on disk and reads back the chunks an earlier call with the same
            settings finished (``diffusion_core.sample_cache``): the same images, so a stopped run resumes.
        on_chunk: called after each chunk with its ``ChunkDone`` (progress, and its sampling seconds).

    Returns:
        Samples (n, C, H, W) on the CPU, roughly in [-1, 1].
    """
    if start not in ("randn", "rand"):
        raise ValueError(f"start must be 'randn' or 'rand', got {start!r}")
    whole_number(n, "n", 1, 10_000)
    picked = {"precision": "fp32", "runtime": "torch"} if fast else cpu_speed.sampling_forward(unet.device)
    precision, runtime = precision or picked["precision"], runtime or picked["runtime"]
    generator = torch.Generator().manual_seed(seed)
    key = None
    if cache is not None:
        settings = {"sampler": sampler, "steps": steps, "seed": seed, "start": start, "fast": fast,
                    "precision": precision, "runtime": runtime, "device": unet.device.type,
                    "chunk_size": sampling.MAX_BATCH}  # fmt: skip
        key = cache.key(unet, scheduler, settings)
    chunks = []
    count = math.ceil(n / sampling.MAX_BATCH)
    for index, begin in enumerate(range(0, n, sampling.MAX_BATCH)):
        size = min(sampling.MAX_BATCH, n - begin)
        kept = cache.load(key, index, size) if cache is not None else None
        if kept is not None:  # sampled before with these settings: the same images, and the generator after them
            generator.set_state(kept.generator_state)
            chunk, seconds = kept.samples, kept.seconds
        else:
            started = time.perf_counter()
            chunk = _sample_chunk(unet, scheduler, sampler, steps, size, generator, start, fast, precision, runtime)
            seconds = time.perf_counter() - started
            if cache is not None:
                cache.save(key, index, chunk, generator.get_state(), seconds)
        chunks.append(chunk)
        if on_chunk is not None:
            on_chunk(ChunkDone(index, count, begin + size, n, seconds, cached=kept is not None))
    return torch.cat(chunks)


def _sample_chunk(
    unet: nn.Module,
    scheduler: Any,
    sampler: str,
    steps: int,
    size: int,
    generator: torch.Generator,
    start: str,
    fast: bool,
    precision: str,
    runtime: str,
) -> torch.Tensor:
    """One chunk of ``generate``: ``size`` images (size, C, H, W), float32 on the CPU, drawn from ``generator``."""
    x_T = None
    if start == "rand":  # the mistake: uniform noise in [0, 1) (mean 0.5, std 0.29) where the model expects N(0, I)
        x_T = torch.rand((size, *unet2d_image_shape(unet)), generator=generator)
    records = sampling.scheduler_sample(
        unet,
        scheduler,
        sampler,
        steps,
        size,
        generator=generator,
        fast=fast and x_T is None,
        x_T=x_T,
        precision=precision,
        runtime=runtime,
    )
    return sampling.final_sample(records).float().cpu()


def sampling_function(unet: nn.Module, scheduler: Any) -> SampleFn:
    """``generate`` as a ``SampleFn`` for ``quality_vs_steps``."""

    def sample(sampler: str, steps: int, n: int, seed: int) -> torch.Tensor:
        return generate(unet, scheduler, sampler, steps, n, seed)

    return sample


@dataclass
class ObjectiveComparison:
    """BasicUNet (predicts x0) beside UNet2DModel (predicts the noise) on the same digits at one noise level."""

    t: int  # DDPM timestep
    snr: float  # alpha_bar_t / (1 - alpha_bar_t): DDPM's signal-to-noise ratio at t
    amount: float  # the corrupt amount with the same SNR: 1 / (1 + sqrt(snr / 3))
    x0: torch.Tensor  # (B, 1, 28, 28) in [0, 1], the clean digits
    basic_input: torch.Tensor  # corrupt(x0, amount), [0, 1]
    basic_pred: torch.Tensor  # BasicUNet's direct guess of x0, clipped to [0, 1]
    ddpm_input: torch.Tensor  # x_t (DDPM eq. 4) mapped to [0, 1] for display (not clipped)
    ddpm_pred: torch.Tensor  # implied x0 = (x_t - sqrt(1 - alpha_bar) noise_pred) / sqrt(alpha_bar), in [0, 1]
    mse_basic: torch.Tensor  # (B,) per-image MSE of basic_pred against x0, in [0, 1] units
    mse_ddpm: torch.Tensor  # (B,) per-image MSE of ddpm_pred against x0, in [0, 1] units


@torch.no_grad()
def compare_objectives(
    basic: nn.Module,
    unet: nn.Module,
    scheduler: Any,
    x0: torch.Tensor,
    t: int,
    generator: torch.Generator | None = None,
) -> ObjectiveComparison:
    """Both models' x0 guesses for the same clean digits at a matched noise level.

    Each model gets the noise it was trained with (uniform for ``corrupt``, Gaussian for DDPM),
    and the two inputs are matched by their signal-to-noise ratio (signal amplitude over noise
    standard deviation, both in [0, 1] pixel units):

        DDPM at t (in [0, 1] units):  signal sqrt(alpha_bar) x0,  noise std sqrt(1 - alpha_bar) / 2
        corrupt at amount:            signal (1 - amount) x0,     noise std amount / sqrt(12)
        equal ratios  =>  (1 - amount) / amount = sqrt(SNR_t / 3),  SNR_t = alpha_bar / (1 - alpha_bar)
        =>  amount = 1 / (1 + sqrt(SNR_t / 3))

    Args:
        basic: a ``BasicUNet`` trained on ``corrupt`` (predicts x0, images in [0, 1]).
        unet: a ``UNet2DModel`` trained to predict the noise (images in [-1, 1]).
        scheduler: the DDPM scheduler the unet was trained with (read only: ``alphas_cumprod``).
        x0 (`torch.Tensor`, (B, 1, 28, 28), in [0, 1]): clean digits.
        t: the DDPM timestep, 0..T-1.
        generator: draws both noises (uniform first, then Gaussian).
    """
    from diffusion_core.corruption import corrupt

    x0 = check_images(x0, "x0")
    alpha_bars = scheduler.alphas_cumprod
    whole_number(t, "t", 0, len(alpha_bars) - 1)
    alpha_bar = alpha_bars[t].double()
    snr = float(alpha_bar / (1 - alpha_bar))
    amount = 1.0 / (1.0 + math.sqrt(snr / 3.0))  # the corrupt amount with the same SNR
    # 1. BasicUNet: corrupt with uniform noise, predict x0 directly
    basic_device = next(basic.parameters()).device
    basic_input = corrupt(x0, amount, generator=generator)
    basic_pred = basic(basic_input.to(basic_device)).float().cpu().clamp(0, 1)
    # 2. UNet2DModel: DDPM forward process in [-1, 1], predict the noise, solve eq. 4 for x0
    unet_device = next(unet.parameters()).device
    x0_model = to_model_range(x0)
    noise = torch.randn(x0.shape, generator=generator)
    x_t = alpha_bar.sqrt().float() * x0_model + (1 - alpha_bar).sqrt().float() * noise
    timesteps = torch.full((len(x0),), t, dtype=torch.long, device=unet_device)
    noise_pred = unet(x_t.to(unet_device), timesteps).sample.float().cpu()
    ddpm_pred = to_unit_range(predict_x0(x_t, noise_pred, alpha_bar.float())).clamp(0, 1)
    # 3. per-image MSE against the clean digits, both in [0, 1]
    return ObjectiveComparison(
        t=t,
        snr=snr,
        amount=amount,
        x0=x0,
        basic_input=basic_input,
        basic_pred=basic_pred,
        ddpm_input=to_unit_range(x_t),
        ddpm_pred=ddpm_pred,
        mse_basic=(basic_pred - x0).square().mean(dim=(1, 2, 3)),
        mse_ddpm=(ddpm_pred - x0).square().mean(dim=(1, 2, 3)),
    )


@dataclass
class TimestepLoss:
    """The DDPM training loss at one timestep, averaged over a batch of digits."""

    t: int  # the timestep
    alpha_bar: float  # alpha_bar_t
    snr: float  # alpha_bar_t / (1 - alpha_bar_t)
    noise_mse: float  # the training loss: MSE(noise_pred, noise)
    x0_mse: float  # the same error seen on x0: MSE(pred_x0, x0) = noise_mse / snr, in [-1, 1] units


@torch.no_grad()
def loss_per_timestep(
    unet: nn.Module,
    scheduler: Any,
    x0: torch.Tensor,
    timesteps: Sequence[int],
    generator: torch.Generator | None = None,
) -> Iterator[TimestepLoss]:
    """The noise-prediction loss of ``unet`` at each of ``timesteps``, one record per timestep.

    Training draws t uniformly and minimises ``MSE(noise_pred, noise)``. Written on x0 that loss is
    ``SNR(t) * MSE(pred_x0, x0)``: an implicit weighting that counts x0 errors at small t (high
    SNR) far more than at large t.

    Args:
        unet: a noise-predicting ``UNet2DModel``.
        scheduler: its training scheduler (``alphas_cumprod`` is read).
        x0 (`torch.Tensor`, (B, 1, 28, 28), in [0, 1]): digits; mapped to [-1, 1] here.
        timesteps: the t to measure, each in 0..T-1.
        generator: draws the noise; the same noise is reused at every t.
    """
    x0 = to_model_range(check_images(x0, "x0"))
    alpha_bars = scheduler.alphas_cumprod.double()
    steps = list(timesteps)
    if not steps:
        raise ValueError("give at least one timestep")
    for t in steps:
        whole_number(t, "timesteps", 0, len(alpha_bars) - 1)
    device = next(unet.parameters()).device
    noise = torch.randn(x0.shape, generator=generator)
    for t in steps:
        alpha_bar = alpha_bars[t]
        # 1. x_t = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) noise          (DDPM eq. 4)
        x_t = alpha_bar.sqrt().float() * x0 + (1 - alpha_bar).sqrt().float() * noise
        # 2. predict the noise and score it as training does
        batch_t = torch.full((len(x0),), t, dtype=torch.long, device=device)
        noise_pred = unet(x_t.to(device), batch_t).sample.float().cpu()
        noise_mse = float((noise_pred - noise).square().mean())
        # 3. the same prediction read as an x0 guess
        pred_x0 = predict_x0(x_t, noise_pred, alpha_bar.float())
        yield TimestepLoss(
            t=t,
            alpha_bar=float(alpha_bar),
            snr=float(alpha_bar / (1 - alpha_bar)),
            noise_mse=noise_mse,
            x0_mse=float((pred_x0 - x0).square().mean()),
        )


FAILURE_MODES = ("correct", "rand", "no_scaling", "few_steps", "undertrained")


def early_checkpoints(folder: str | Path | None = None) -> list[Path]:
    """Early DDPM checkpoints saved by the training CLI (``<folder>/early/step_NNNNNN``), earliest first."""
    from diffusion_core.checkpoints import DDPM_DIR

    early = Path(folder if folder is not None else DDPM_DIR) / "early"
    if not early.is_dir():
        return []
    found = [p for p in early.glob("step_*") if (p / "model_index.json").is_file()]
    return sorted(found, key=lambda p: p.name)


@dataclass
class FailureSamples:
    """Samples for one row of the failure-mode lab."""

    mode: str  # one of FAILURE_MODES
    images: torch.Tensor  # (B, 1, 28, 28) in [0, 1]: what the learner would see
    raw: torch.Tensor  # (B, 1, 28, 28): the sampler's output, roughly in [-1, 1]
    raw_min: float  # smallest value of the sampler's output tensor
    raw_max: float  # largest value
    confidence: float  # the classifier's mean confidence on ``images``
    class_balance: float  # normalised class entropy of ``images``


def failure_samples(
    mode: str,
    unet: nn.Module,
    scheduler: Any,
    n: int = 16,
    sampler: str = "ddim",
    steps: int = 20,
    few_steps: int = 2,
    seed: int = 0,
    early_unet: nn.Module | None = None,
) -> FailureSamples:
    """Sample the way a mistake would, from the same seed as the correct run.

    Modes:
        ``"correct"``: x_T ~ N(0, I), ``steps`` steps, shown with ``x * 0.5 + 0.5``.
        ``"rand"``: x_T ~ U[0, 1) (``torch.rand`` instead of ``torch.randn``).
        ``"no_scaling"``: correct sampling, but the [-1, 1] output is shown as if it were [0, 1]
            (the ``x * 0.5 + 0.5`` of the tutorial's ``show_images`` forgotten; values outside are clipped).
        ``"few_steps"``: only ``few_steps`` steps.
        ``"undertrained"``: ``early_unet`` (an early checkpoint) instead of the trained model.
    """
    if mode not in FAILURE_MODES:
        raise ValueError(f"unknown failure mode {mode!r}: choose one of {', '.join(FAILURE_MODES)}")
    model = unet
    if mode == "undertrained":
        if early_unet is None:
            raise ValueError("no early checkpoint: train with `--save-every N` to save one")
        model = early_unet
    count = few_steps if mode == "few_steps" else steps
    raw = generate(model, scheduler, sampler, count, n, seed, start="rand" if mode == "rand" else "randn")
    images = (raw if mode == "no_scaling" else to_unit_range(raw)).clamp(0, 1)
    probs = classify(images).probs if n >= 2 else None
    return FailureSamples(
        mode=mode,
        images=images,
        raw=raw,
        raw_min=float(raw.min()),
        raw_max=float(raw.max()),
        confidence=mean_confidence(probs) if probs is not None else float("nan"),
        class_balance=class_balance(probs) if probs is not None else float("nan"),
    )
