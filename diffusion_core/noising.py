"""The DDPM forward process q(x_t | x_0) through diffusers' ``DDPMScheduler``.

DDPM (Ho et al., 2020) adds a little Gaussian noise at each step,
``q(x_t | x_{t-1}) = N(sqrt(1 - beta_t) x_{t-1}, beta_t I)``, which closes to one jump:

    q(x_t | x_0) = N( sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I )        (DDPM eq. 4)
    x_t = sqrt(alpha_bar_t) * x_0 + sqrt(1 - alpha_bar_t) * noise,   noise ~ N(0, I)

with ``alpha_t = 1 - beta_t`` and ``alpha_bar_t = prod_{s<=t} alpha_s`` (a product up to t,
not up to T). The variance is ``(1 - alpha_bar_t) I``; its square root is the *standard
deviation* that multiplies the noise. (The tutorial writes ``sqrt(1 - alpha_bar_t) I`` as the
variance and the product up to T; the app teaches the corrected form.)

Images enter in [-1, 1] (``x * 2 - 1``) so that, as t -> T, x_t tends to N(0, I).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch

if TYPE_CHECKING:  # diffusers is imported when first used (ARCHITECTURE.md, "Start-up")
    from diffusers import DDPMScheduler

BetaSchedule = Literal["linear", "scaled_linear", "squaredcos_cap_v2"]
BETA_SCHEDULES: tuple[BetaSchedule, ...] = ("linear", "scaled_linear", "squaredcos_cap_v2")
NoiseKind = Literal["randn", "rand"]
MAX_TRAIN_TIMESTEPS = 10_000


@dataclass(frozen=True)
class ScheduleConfig:
    """The knobs of a DDPM noise schedule."""

    beta_schedule: BetaSchedule = "linear"  # how beta_t grows with t; the seed trains with squaredcos_cap_v2
    num_train_timesteps: int = 1000  # T, the number of forward steps
    beta_start: float = 1e-4  # beta_0 (ignored by squaredcos_cap_v2)
    beta_end: float = 0.02  # beta_{T-1} (ignored by squaredcos_cap_v2)

    def validate(self) -> ScheduleConfig:
        """Return self, or raise ``ValueError`` naming the bad field."""
        if self.beta_schedule not in BETA_SCHEDULES:
            raise ValueError(f"unknown beta schedule {self.beta_schedule!r}: choose one of {', '.join(BETA_SCHEDULES)}")
        if isinstance(self.num_train_timesteps, bool) or not isinstance(self.num_train_timesteps, int):
            raise ValueError(f"num_train_timesteps must be an integer, got {self.num_train_timesteps!r}")
        if not 2 <= self.num_train_timesteps <= MAX_TRAIN_TIMESTEPS:
            raise ValueError(
                f"num_train_timesteps must be between 2 and {MAX_TRAIN_TIMESTEPS}, got {self.num_train_timesteps}"
            )
        for name in ("beta_start", "beta_end"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 < value < 1:
                raise ValueError(f"{name} must be a number in (0, 1), got {value!r}")
        if self.beta_start >= self.beta_end:
            raise ValueError(f"beta_start ({self.beta_start}) must be smaller than beta_end ({self.beta_end})")
        return self


SEED_TRAINING_SCHEDULE = ScheduleConfig(beta_schedule="squaredcos_cap_v2")  # the tutorial's DDPM training


def make_scheduler(config: ScheduleConfig | None = None, **overrides) -> DDPMScheduler:
    """Build a diffusers ``DDPMScheduler`` for a schedule (cached: schedulers are read-only here).

    Args:
        config: the schedule; defaults to ``ScheduleConfig()`` (diffusers' default, linear 1e-4..0.02, T=1000).
        **overrides: fields of ``ScheduleConfig`` to replace.
    """
    config = ScheduleConfig(**{**(config or ScheduleConfig()).__dict__, **overrides}).validate()
    return _cached_scheduler(config)


@functools.lru_cache(maxsize=32)
def _cached_scheduler(config: ScheduleConfig) -> DDPMScheduler:
    from diffusers import DDPMScheduler

    return DDPMScheduler(
        num_train_timesteps=config.num_train_timesteps,
        beta_schedule=config.beta_schedule,
        beta_start=config.beta_start,
        beta_end=config.beta_end,
    )


@dataclass(frozen=True)
class NoiseCurves:
    """Noise levels per timestep; every field is a float64 tensor of shape (T,)."""

    t: torch.Tensor  # 0 .. T-1
    beta: torch.Tensor  # beta_t
    alpha_bar: torch.Tensor  # prod_{s<=t} (1 - beta_s), decreasing from ~1 to ~0
    sqrt_alpha_bar: torch.Tensor  # how much of x_0 is left: the signal coefficient
    sqrt_one_minus_alpha_bar: torch.Tensor  # the noise's standard deviation
    snr: torch.Tensor  # signal-to-noise ratio alpha_bar / (1 - alpha_bar)


def noise_curves(config: ScheduleConfig | None = None, **overrides) -> NoiseCurves:
    """Return sqrt(alpha_bar_t), sqrt(1 - alpha_bar_t), SNR and friends for a schedule."""
    scheduler = make_scheduler(config, **overrides)
    alpha_bar = scheduler.alphas_cumprod.to(torch.float64)
    return NoiseCurves(
        t=torch.arange(len(alpha_bar)),
        beta=scheduler.betas.to(torch.float64),
        alpha_bar=alpha_bar,
        sqrt_alpha_bar=alpha_bar.sqrt(),
        sqrt_one_minus_alpha_bar=(1 - alpha_bar).sqrt(),
        snr=alpha_bar / (1 - alpha_bar),
    )


def seed_timesteps(num_train_timesteps: int = 1000, count: int = 8) -> torch.Tensor:
    """The tutorial's strip of timesteps: ``torch.linspace(0, T-1, count).long()``, shape (count,)."""
    return torch.linspace(0, num_train_timesteps - 1, count).long()


def draw_noise(
    shape: tuple[int, ...], kind: NoiseKind = "randn", generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw noise of a shape: Gaussian ``randn`` (what DDPM assumes) or uniform ``rand`` in [0, 1).

    The ``rand`` option is the tutorial's teaching contrast: the simple ``corrupt`` used
    uniform noise, DDPM needs Gaussian noise (mean 0, variance 1).
    """
    if kind == "randn":
        return torch.randn(shape, generator=generator)
    if kind == "rand":
        return torch.rand(shape, generator=generator)
    raise ValueError(f"noise kind must be 'randn' or 'rand', got {kind!r}")


def add_noise(
    x0: torch.Tensor,
    t: torch.Tensor | int,
    scheduler: DDPMScheduler,
    noise_kind: NoiseKind = "randn",
    generator: torch.Generator | None = None,
    noise: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Jump from x_0 to x_t in one step with ``scheduler.add_noise`` (DDPM eq. 4).

    Args:
        x0 (`torch.Tensor`, (B, C, H, W), in [-1, 1]): clean images.
        t (`int` or `torch.Tensor` of shape (B,), each in 0..T-1): timesteps, one for all or one per image.
        scheduler: a ``DDPMScheduler`` (see ``make_scheduler``).
        noise_kind: ``"randn"`` (Gaussian, correct) or ``"rand"`` (uniform, the tutorial's contrast).
        generator: draws the noise reproducibly.
        noise (`torch.Tensor`, like ``x0``, optional): use this noise instead of drawing one.

    Returns:
        ``(x_t, noise)``, both (B, C, H, W); ``x_t`` is not clipped and may leave [-1, 1].
    """
    if not isinstance(x0, torch.Tensor) or x0.ndim != 4 or not x0.is_floating_point():
        raise ValueError("x0 must be a float tensor of shape (B, C, H, W)")
    num_train_timesteps = scheduler.config.num_train_timesteps
    t = torch.as_tensor(t)
    if t.is_floating_point():
        if torch.isnan(t).any() or (t != t.round()).any():
            raise ValueError(f"timesteps must be whole numbers, got {t.tolist()}")
        t = t.long()
    if t.ndim == 0:
        t = t.expand(x0.shape[0])
    if t.shape != (x0.shape[0],):
        raise ValueError(f"t must be one timestep or shape ({x0.shape[0]},), got {tuple(t.shape)}")
    if (t < 0).any() or (t >= num_train_timesteps).any():
        raise ValueError(f"timesteps must lie in 0..{num_train_timesteps - 1}, got {t.tolist()}")
    if noise is None:
        noise = draw_noise(tuple(x0.shape), noise_kind, generator).to(x0.device, x0.dtype)
    elif noise.shape != x0.shape:
        raise ValueError(f"noise must have the shape of x0 {tuple(x0.shape)}, got {tuple(noise.shape)}")
    x_t = scheduler.add_noise(x0, noise, t.to(x0.device))
    return x_t, noise


def predict_x0(x_t: torch.Tensor, noise_pred: torch.Tensor, alpha_bar: torch.Tensor | float) -> torch.Tensor:
    """The clean image a noise prediction implies: DDPM eq. 4 solved for x0.

        x0 = (x_t - sqrt(1 - alpha_bar_t) * noise_pred) / sqrt(alpha_bar_t)

    Args:
        x_t (`torch.Tensor`, (B, C, H, W)): the noisy images, in the model's range [-1, 1] (and beyond).
        noise_pred (`torch.Tensor`, like ``x_t``): the model's prediction of the added noise.
        alpha_bar: ``alpha_bar_t`` in (0, 1], one number or a tensor broadcastable to ``x_t``.

    Returns:
        `torch.Tensor`, like ``x_t``: the implied x0 in the model's range, not clipped.
    """
    alpha_bar = torch.as_tensor(alpha_bar, dtype=x_t.dtype, device=x_t.device)
    return (x_t - (1 - alpha_bar).sqrt() * noise_pred) / alpha_bar.sqrt()
