"""The seed's two training loops, as generators of per-step records, with an optional fast path.

* ``train_x0`` trains ``BasicUNet`` to predict the clean image (tutorial section "训练模型"):

      amount ~ U[0, 1) per image,  x_noisy = corrupt(x, amount),  loss = MSE(net(x_noisy), x)

  with Adam (lr 1e-3) and batch 128, images in [0, 1].

* ``train_eps`` trains diffusers' ``UNet2DModel`` to predict the noise (tutorial section "训练目标"):

      t ~ U{0 .. T-1},  noise ~ N(0, I),
      x_t = sqrt(alpha_bar_t) * x0 + sqrt(1 - alpha_bar_t) * noise          (DDPM eq. 4)
      loss = MSE(model(x_t, t), noise)                                       (DDPM eq. 14, "simple" loss)

  with ``DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")``, AdamW
  (lr 4e-4), images mapped to [-1, 1], and optionally an exponential moving average of the
  weights (diffusers ``EMAModel``) that is used for sampling.

Both are generators: every ``report_every`` optimizer steps they yield one ``TrainStep`` record,
so the UI streams them, the tests count them and the CLI prints them. The model is trained in
place; the caller keeps it.

**Plain path** (``fast=False``) is the seed's loop: a ``DataLoader`` over the images on the CPU,
each batch copied to the device, fp32, ``loss.item()`` every step.

**Fast path** (``fast=True``) yields the same records from the same random draws:

* the whole data set lives on the device and batches are gathered with an index (no DataLoader);
* ``channels_last`` memory format for the convolutions;
* bf16 autocast on CUDA only (on the CPU it would be slower and change the numbers);
* optional ``torch.compile``;
* the losses stay on the device and are read back once per report (one host sync per report,
  not per step); the DDPM noising indexes precomputed ``sqrt(alpha_bar)`` tables on the device
  instead of calling ``scheduler.add_noise`` (same equation, no per-step host copy).

Tolerance: with the same seed the first-step loss of both paths agrees within ``FIRST_STEP_RTOL_CPU``
(1e-4 relative; only the convolution memory layout differs) on the CPU, and within
``FIRST_STEP_RTOL_BF16`` (3e-2 relative) on CUDA, where the fast path computes in bf16.

Randomness: one CPU generator seeded with ``config.seed`` shuffles the data (so both paths see the
same batches) and one generator on the training device draws the amounts / timesteps and the noise,
in the same order in both paths.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, UNet2DModel
from diffusers.training_utils import EMAModel
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, TensorDataset

from diffusion_core.corruption import corrupt
from diffusion_core.data import to_model_range
from diffusion_core.device import pick_device
from diffusion_core.models import BasicUNet, build_unet2d

ModelKind = Literal["basic", "ddpm"]
MODEL_KINDS: tuple[ModelKind, ...] = ("basic", "ddpm")
DEFAULT_LR: dict[str, float] = {"basic": 1e-3, "ddpm": 4e-4}  # the seed's Adam 1e-3 and AdamW 4e-4
MAX_STEPS = 10_000_000
MAX_BATCH_SIZE = 4096
FIRST_STEP_RTOL_CPU = 1e-4  # fast vs plain first-step loss on the CPU (fp32 both; memory layout differs)
FIRST_STEP_RTOL_BF16 = 3e-2  # fast (bf16 autocast) vs plain (fp32) first-step loss on CUDA


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs besides the model and the data."""

    model: ModelKind = "basic"  # "basic": BasicUNet predicts x0; "ddpm": UNet2DModel predicts the noise
    steps: int | None = None  # optimizer steps to run; None -> use `epochs`
    epochs: float | None = 3.0  # passes over the data (the seed: 3 for BasicUNet); used when `steps` is None
    seconds: float | None = None  # wall-clock budget; stops after the first step past it (None: no limit)
    batch_size: int = 128  # images per step (the seed's 128)
    lr: float | None = None  # learning rate; None -> the seed's (1e-3 Adam for basic, 4e-4 AdamW for ddpm)
    seed: int = 0  # seeds the data order, the amounts/timesteps and the noise
    device: str = "auto"  # "auto" (cuda > mps > cpu), "cuda", "mps" or "cpu"
    fast: bool = False  # the fast path (see the module docstring); False is the seed's loop
    compile: bool = False  # torch.compile the model (fast path only; needs a C++ compiler on the CPU)
    report_every: int = 1  # yield a record every this many steps (the fast path syncs only then)
    ema: bool = False  # keep an EMA of the weights (diffusers EMAModel); DDPM only
    ema_decay: float = 0.9999  # the EMA's maximum decay, reached after warm-up (power 3/4)
    num_train_timesteps: int = 1000  # T of the DDPM scheduler (the seed's 1000)
    beta_schedule: str = "squaredcos_cap_v2"  # the seed's training schedule

    def validate(self, n_images: int | None = None) -> TrainConfig:
        """Return self, or raise ``ValueError`` naming the bad field.

        Args:
            n_images: the size of the training set, if known, to check the batch size against it.
        """
        if self.model not in MODEL_KINDS:
            raise ValueError(f"model must be 'basic' or 'ddpm', got {self.model!r}")
        if self.steps is None and self.epochs is None and self.seconds is None:
            raise ValueError("give a budget: steps, epochs or seconds")
        if self.steps is not None and (_not_int(self.steps) or not 1 <= self.steps <= MAX_STEPS):
            raise ValueError(f"steps must be a whole number between 1 and {MAX_STEPS:,}, got {self.steps!r}")
        if self.epochs is not None and not _finite_in(self.epochs, 0, 100_000, open_low=True):
            raise ValueError(f"epochs must be a positive number, got {self.epochs!r}")
        if self.seconds is not None and not _finite_in(self.seconds, 0, 7 * 24 * 3600, open_low=True):
            raise ValueError(f"seconds must be a positive number, got {self.seconds!r}")
        if _not_int(self.batch_size) or not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(
                f"batch size must be a whole number between 1 and {MAX_BATCH_SIZE}, got {self.batch_size!r}"
            )
        if n_images is not None and self.batch_size > n_images:
            raise ValueError(f"batch size {self.batch_size} is larger than the {n_images} training images")
        if self.lr is not None and not _finite_in(self.lr, 0, 1, open_low=True):
            raise ValueError(f"learning rate must be a finite number in (0, 1], got {self.lr!r}")
        if _not_int(self.seed) or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be a non-negative whole number, got {self.seed!r}")
        if _not_int(self.report_every) or not 1 <= self.report_every <= 100_000:
            raise ValueError(f"report_every must be a whole number >= 1, got {self.report_every!r}")
        if self.ema and self.model != "ddpm":
            raise ValueError("EMA is offered for the DDPM model only")
        if not _finite_in(self.ema_decay, 0, 1, open_low=True) or self.ema_decay >= 1:
            raise ValueError(f"ema_decay must be in (0, 1), got {self.ema_decay!r}")
        if _not_int(self.num_train_timesteps) or not 2 <= self.num_train_timesteps <= 10_000:
            raise ValueError(f"num_train_timesteps must be between 2 and 10000, got {self.num_train_timesteps!r}")
        if self.compile and not self.fast:
            raise ValueError("compile is part of the fast path: set fast=True too")
        return self

    @property
    def learning_rate(self) -> float:
        """The learning rate in use: ``lr`` or the seed's default for the model."""
        return float(self.lr) if self.lr is not None else DEFAULT_LR[self.model]

    def total_steps(self, n_images: int) -> int | None:
        """The number of optimizer steps the budget allows (None if only ``seconds`` limits it)."""
        if self.steps is not None:
            return int(self.steps)
        if self.epochs is not None:
            return max(1, math.ceil(float(self.epochs) * math.ceil(n_images / self.batch_size)))
        return None

    def to_dict(self) -> dict:
        """The config as plain JSON-able data (for training_log.json)."""
        return asdict(self)


TINY_CONFIG_BASIC = TrainConfig(model="basic", steps=6, epochs=None, batch_size=16, seed=0)  # for tests
TINY_CONFIG_DDPM = TrainConfig(model="ddpm", steps=4, epochs=None, batch_size=8, seed=0)  # for tests


def _not_int(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int)


def _finite_in(value: object, low: float, high: float, open_low: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return (low < value if open_low else low <= value) and value <= high


@dataclass(frozen=True)
class TrainStep:
    """One report from a training loop (every ``report_every`` optimizer steps)."""

    step: int  # optimizer steps done so far (1-based)
    epoch: int  # the epoch this step belongs to (0-based)
    loss: float  # mean loss of the steps since the previous report
    images_seen: int  # images used for training so far
    seconds: float  # wall-clock seconds since the loop started
    step_losses: tuple[float, ...] = field(default=())  # each step's loss since the previous report


def build_model(
    kind: ModelKind, channels: int = 1, image_size: int = 28, seed: int | None = 0
) -> BasicUNet | UNet2DModel:
    """A freshly initialised model of the seed's architecture, seeded for reproducible weights.

    Args:
        kind: ``"basic"`` (BasicUNet, 309,057 parameters for 1 channel) or ``"ddpm"`` (the seed's
            UNet2DModel, 1,707,009 parameters for 1 channel at 28x28).
        channels: 1 (grayscale) or 3 (RGB).
        image_size: the side of the square images (28 for MNIST, 32 for RGB uploads); a multiple of 4.
        seed: ``torch.manual_seed`` for the initial weights; None keeps the global state.
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"model must be 'basic' or 'ddpm', got {kind!r}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    if image_size % 4 or not 8 <= image_size <= 256:
        raise ValueError(f"image size must be a multiple of 4 in 8..256, got {image_size}")
    if seed is not None:
        torch.manual_seed(int(seed))
    if kind == "basic":
        return BasicUNet(channels, channels)
    return build_unet2d(sample_size=image_size, in_channels=channels, out_channels=channels)


def make_training_scheduler(config: TrainConfig | None = None) -> DDPMScheduler:
    """The seed's training scheduler: ``DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")``."""
    config = config or TrainConfig(model="ddpm")
    return DDPMScheduler(num_train_timesteps=config.num_train_timesteps, beta_schedule=config.beta_schedule)


def make_ema(model: nn.Module, config: TrainConfig) -> EMAModel:
    """An ``EMAModel`` of the model's weights with warm-up (decay ``1 - (1 + step)^-3/4``, capped)."""
    return EMAModel(
        model.parameters(),
        decay=config.ema_decay,
        use_ema_warmup=True,
        inv_gamma=1.0,
        power=3 / 4,
        model_cls=type(model),
        model_config=getattr(model, "config", None),
    )


def ema_copy(model: nn.Module, ema: EMAModel) -> nn.Module:
    """A copy of ``model`` holding the EMA weights (the model itself is left unchanged)."""
    averaged = copy.deepcopy(model)
    ema.copy_to(averaged.parameters())
    return averaged


def train_x0(
    model: nn.Module,
    images: torch.Tensor,
    config: TrainConfig,
    accelerator: object | None = None,
) -> Iterator[TrainStep]:
    """Train ``model`` (BasicUNet) to predict clean images from corrupted ones: the seed's recipe.

    Args:
        model: a BasicUNet (or any (B, C, H, W) -> (B, C, H, W) module); trained in place.
        images (`torch.Tensor`, (N, C, H, W), in [0, 1]): the training set.
        config: budget, batch size, learning rate, seed, device, fast path (``config.model == "basic"``).
        accelerator: an ``accelerate.Accelerator`` (the CLI under ``accelerate launch``); None trains alone.

    Yields:
        One ``TrainStep`` every ``config.report_every`` optimizer steps.
    """
    if config.model != "basic":
        raise ValueError("train_x0 trains the 'basic' model; use train_eps for 'ddpm'")
    yield from _train(model, images, config, accelerator=accelerator, ema=None)


def train_eps(
    model: UNet2DModel,
    images: torch.Tensor,
    config: TrainConfig,
    ema: EMAModel | None = None,
    accelerator: object | None = None,
) -> Iterator[TrainStep]:
    """Train ``model`` (UNet2DModel) to predict the noise added by the DDPM forward process.

    Args:
        model: a UNet2DModel with matching channels and sample size; trained in place.
        images (`torch.Tensor`, (N, C, H, W), in [0, 1]): the training set; mapped to [-1, 1] here.
        config: budget, batch size, learning rate, seed, device, fast path, schedule (``model == "ddpm"``).
        ema: an ``EMAModel`` from ``make_ema`` updated after every optimizer step, or None.
        accelerator: an ``accelerate.Accelerator`` (the CLI under ``accelerate launch``); None trains alone.

    Yields:
        One ``TrainStep`` every ``config.report_every`` optimizer steps.
    """
    if config.model != "ddpm":
        raise ValueError("train_eps trains the 'ddpm' model; use train_x0 for 'basic'")
    if config.ema and ema is None:
        raise ValueError("config.ema is set: pass ema=make_ema(model, config)")
    yield from _train(model, images, config, accelerator=accelerator, ema=ema)


def check_images(images: object) -> torch.Tensor:
    """Raise ``ValueError`` unless ``images`` is a float (N, C, H, W) tensor in [0, 1]; return it."""
    if not isinstance(images, torch.Tensor) or images.ndim != 4 or not images.is_floating_point():
        raise ValueError("training images must be a float tensor of shape (N, C, H, W)")
    if images.shape[1] not in (1, 3):
        raise ValueError(f"training images must have 1 or 3 channels, got {images.shape[1]}")
    if len(images) < 1:
        raise ValueError("there are no training images")
    if not torch.isfinite(images).all() or images.min() < 0 or images.max() > 1:
        raise ValueError("training images must be finite and lie in [0, 1]")
    return images


def _train(
    model: nn.Module,
    images: torch.Tensor,
    config: TrainConfig,
    accelerator: object | None,
    ema: EMAModel | None,
) -> Iterator[TrainStep]:
    images = check_images(images)
    config.validate(len(images))
    device = accelerator.device if accelerator is not None else pick_device(config.device)
    rank = accelerator.process_index if accelerator is not None else 0
    world = accelerator.num_processes if accelerator is not None else 1
    is_ddpm = config.model == "ddpm"
    total_steps = config.total_steps(len(images))
    use_bf16 = config.fast and device.type == "cuda"

    # 1. the model, the optimizer (the seed's Adam for BasicUNet, AdamW for UNet2DModel) and the schedule
    model.to(device).train()
    if config.fast:
        model.to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer_cls = torch.optim.AdamW if is_ddpm else torch.optim.Adam
    optimizer = optimizer_cls(params, lr=config.learning_rate)
    if accelerator is not None:
        model, optimizer = accelerator.prepare(model, optimizer)
    forward = torch.compile(model) if config.compile else model
    if ema is not None:
        ema.to(device)
    scheduler = make_training_scheduler(config) if is_ddpm else None
    if is_ddpm:
        alpha_bar = scheduler.alphas_cumprod.to(device=device, dtype=torch.float32)
        sqrt_alpha_bar, sqrt_one_minus_alpha_bar = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()

    # 2. the data: a CPU generator shuffles (both paths see the same batches); a device generator
    #    draws amounts / timesteps and noise
    order_generator = torch.Generator().manual_seed(int(config.seed))
    noise_generator = torch.Generator(device=device).manual_seed(int(config.seed) + 1)
    data = images.to(device) if config.fast else images
    if config.fast:
        data = data.contiguous(memory_format=torch.channels_last)

    def batches() -> Iterator[tuple[int, torch.Tensor]]:
        epoch = 0
        while True:
            order = torch.randperm(len(images), generator=order_generator)[rank::world]
            if config.fast:
                order = order.to(device)
                for start in range(0, len(order), config.batch_size):
                    yield epoch, data[order[start : start + config.batch_size]]
            else:
                sampler = BatchSampler(order.tolist(), config.batch_size, drop_last=False)
                for (x,) in DataLoader(TensorDataset(data), batch_sampler=sampler):
                    yield epoch, x.to(device)
            epoch += 1

    step, images_seen, pending = 0, 0, []
    start = time.perf_counter()
    for epoch, x in batches():
        batch = x.shape[0]
        with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=use_bf16):
            if is_ddpm:
                # 3a. DDPM: noise ~ N(0, I), t ~ U{0..T-1}, x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise
                x0 = to_model_range(x)
                noise = torch.randn(x0.shape, generator=noise_generator, device=device)
                t = torch.randint(
                    0, config.num_train_timesteps, (batch,), generator=noise_generator, device=device
                ).long()
                if config.fast:
                    x_t = (
                        sqrt_alpha_bar[t].view(-1, 1, 1, 1) * x0 + sqrt_one_minus_alpha_bar[t].view(-1, 1, 1, 1) * noise
                    )
                else:
                    x_t = scheduler.add_noise(x0, noise, t)
                # 4a. predict the noise and compare it with the noise that was added
                noise_pred = forward(x_t, t, return_dict=False)[0]
                loss = F.mse_loss(noise_pred.float(), noise)
            else:
                # 3b. BasicUNet: amount ~ U[0, 1) per image, x_noisy = x (1 - amount) + U[0, 1) amount
                amount = torch.rand(batch, generator=noise_generator, device=device)
                noisy_x = corrupt(x, amount, generator=noise_generator)
                # 4b. predict the clean image and compare it with the clean image
                pred = forward(noisy_x)
                loss = F.mse_loss(pred.float(), x)
        # 5. backpropagate and update the weights (and their moving average)
        optimizer.zero_grad(set_to_none=True)
        if accelerator is not None:
            accelerator.backward(loss)
        else:
            loss.backward()
        optimizer.step()
        if ema is not None:
            ema.step(params)
        step += 1  # noqa: SIM113 (a step counter, not an index)
        images_seen += batch * world
        # 6. record: the plain path reads the loss every step (the seed's loss.item()); the fast
        #    path keeps it on the device until the report
        pending.append(loss.detach() if config.fast else loss.item())
        done = total_steps is not None and step >= total_steps
        out_of_time = config.seconds is not None and time.perf_counter() - start >= config.seconds
        if step % config.report_every == 0 or done or out_of_time:
            step_losses = tuple(torch.stack(pending).float().tolist()) if config.fast else tuple(pending)
            pending = []
            yield TrainStep(
                step=step,
                epoch=epoch,
                loss=sum(step_losses) / len(step_losses),
                images_seen=images_seen,
                seconds=time.perf_counter() - start,
                step_losses=step_losses,
            )
        if done or out_of_time:
            break
    if config.fast:
        model.to(memory_format=torch.contiguous_format)  # safetensors and diffusers save contiguous weights


def run_to_end(steps: Iterator[TrainStep]) -> list[TrainStep]:
    """Drain a training generator and return all its records."""
    return list(steps)


def with_budget(config: TrainConfig, **changes) -> TrainConfig:
    """A copy of ``config`` with fields changed (``dataclasses.replace``), validated."""
    return replace(config, **changes).validate()
