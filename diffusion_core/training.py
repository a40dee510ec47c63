"""The tutorial's two training loops, as generators of per-step records, with a fast path.

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
place; the caller keeps it. ``TrainingRun`` is the loop itself: between two records it can save
everything a later run needs to continue (``save_state`` / ``load_state``, see ``train_state``).

**Plain path** (``fast=False``) is the tutorial's loop: a ``DataLoader`` over the images on the
CPU, each batch copied to the device, fp32, plain Adam/AdamW, ``loss.item()`` every step.

**Fast path** (``fast=True``) draws the same random numbers in the same order:

* the whole data set lives on the device; every batch has the same shape (the last, partial
  batch of an epoch is dropped) and is gathered with an index (no DataLoader);
* fused Adam/AdamW (one kernel for all parameters) and a ``foreach`` EMA;
* a memory layout per model (``FAST_MEMORY_FORMAT``), and bf16 autocast on CUDA, and for BasicUNet on
  CPUs that run bfloat16 natively (``cpu_speed.training_precision``: 1.81x its step on ``avx512_bf16``);
* the noise, amounts and timesteps are drawn into fixed buffers, and nothing reads a value back
  to the host between two reports (one host sync per report, not per step);
* optionally ``torch.compile`` (``compile=True``: inductor fuses the norms, activations and casts
  around the convolutions), and on CUDA one captured CUDA graph of the forward pass, the loss and
  the backward pass, replayed every step (``cuda_graph=True``; see ``training_graph``). Both at
  once capture the compiled kernels in the graph: the fusion cuts device time, the graph the
  launches (compiled with ``dynamic=False``: one fixed batch shape is what a graph replays).

Tolerance: with the same seed the first-step loss of both paths agrees within ``FIRST_STEP_RTOL_CPU``
(1e-4 relative; only the convolution memory layout and the fused optimizer differ) where the fast path
computes in float32, and within ``FIRST_STEP_RTOL_BF16`` (3e-2 relative) where it computes in bf16.

Randomness: one CPU generator seeded with ``config.seed`` shuffles the data (so both paths see the
same batches) and one generator on the training device draws the amounts / timesteps and the noise,
in the same order in both paths.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, TensorDataset

from diffusion_core import cpu_speed
from diffusion_core.checks import is_whole_number
from diffusion_core.corruption import corrupt
from diffusion_core.data import to_model_range
from diffusion_core.device import pick_device
from diffusion_core.models import BUILD_LOCK, BasicUNet, build_unet2d

if TYPE_CHECKING:  # diffusers is imported when first used (ARCHITECTURE.md, "Start-up")
    from diffusers import DDPMScheduler, UNet2DModel
    from diffusers.training_utils import EMAModel

ModelKind = Literal["basic", "ddpm"]
MODEL_KINDS: tuple[ModelKind, ...] = ("basic", "ddpm")
LR_SCHEDULES = ("constant", "cosine")
DEFAULT_LR: dict[str, float] = {"basic": 1e-3, "ddpm": 4e-4}  # the tutorial's Adam 1e-3 and AdamW 4e-4
MAX_STEPS = 10_000_000
MAX_BATCH_SIZE = 4096
FIRST_STEP_RTOL_CPU = 1e-4  # fast vs plain first-step loss, both in fp32 (the memory layout differs)
FIRST_STEP_RTOL_BF16 = 3e-2  # fast (bf16 autocast) vs plain (fp32) first-step loss
# The fast path's memory layout per model, chosen by measurement (BENCHMARKS.md, training suite):
# UNet2DModel's GroupNorm has no channels_last kernel, so that layout converts around every norm.
FAST_MEMORY_FORMAT: dict[str, torch.memory_format] = {
    "basic": torch.channels_last,
    "ddpm": torch.contiguous_format,
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run needs besides the model and the data."""

    model: ModelKind = "basic"  # "basic": BasicUNet predicts x0; "ddpm": UNet2DModel predicts the noise
    steps: int | None = None  # optimizer steps to run; None -> use `epochs`
    epochs: float | None = 3.0  # passes over the data (the tutorial: 3 for BasicUNet); used when `steps` is None
    seconds: float | None = None  # wall-clock budget; stops after the first step past it (None: no limit)
    batch_size: int = 128  # images per step (the tutorial's 128)
    lr: float | None = None  # peak learning rate; None -> the tutorial's (1e-3 Adam basic, 4e-4 AdamW ddpm)
    lr_schedule: str = "constant"  # "constant" (the tutorial) or "cosine" (decays to 0 at the last step)
    warmup_steps: int = 0  # linear learning-rate warm-up from lr / warmup_steps to lr
    lr_restart_at: int = 0  # the step where the warm-up + schedule begins (a resumed run's restart; 0: the start)
    grad_clip: float | None = None  # clip the gradient's global L2 norm to this (None: the tutorial's no clip)
    seed: int = 0  # seeds the data order, the amounts/timesteps and the noise
    device: str = "auto"  # "auto" (cuda > mps > cpu), "cuda", "mps" or "cpu"
    fast: bool = False  # the fast path (see the module docstring); False is the tutorial's loop
    compile: bool = False  # torch.compile the model (fast path only; needs a C++ compiler on the CPU)
    cuda_graph: bool = False  # capture forward + loss + backward as one CUDA graph (fast path, CUDA only)
    report_every: int = 1  # yield a record every this many steps (the fast path syncs only then)
    ema: bool = False  # keep an EMA of the weights (diffusers EMAModel); DDPM only
    ema_decay: float = 0.9999  # the EMA's maximum decay, reached after warm-up (power 3/4)
    num_train_timesteps: int = 1000  # T of the DDPM scheduler (the tutorial's 1000)
    beta_schedule: str = "squaredcos_cap_v2"  # the tutorial's training schedule

    def validate(self, n_images: int | None = None) -> TrainConfig:
        """Return self, or raise ``ValueError`` naming the bad field.

        Args:
            n_images: the size of the training set, if known, to check the batch size against it.
        """
        if self.model not in MODEL_KINDS:
            raise ValueError(f"model must be 'basic' or 'ddpm', got {self.model!r}")
        if self.steps is None and self.epochs is None and self.seconds is None:
            raise ValueError("give a budget: steps, epochs or seconds")
        if self.steps is not None and (not is_whole_number(self.steps) or not 1 <= self.steps <= MAX_STEPS):
            raise ValueError(f"steps must be a whole number between 1 and {MAX_STEPS:,}, got {self.steps!r}")
        if self.epochs is not None and not _finite_in(self.epochs, 0, 100_000, open_low=True):
            raise ValueError(f"epochs must be a positive number, got {self.epochs!r}")
        if self.seconds is not None and not _finite_in(self.seconds, 0, 7 * 24 * 3600, open_low=True):
            raise ValueError(f"seconds must be a positive number, got {self.seconds!r}")
        if not is_whole_number(self.batch_size) or not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(
                f"batch size must be a whole number between 1 and {MAX_BATCH_SIZE}, got {self.batch_size!r}"
            )
        if n_images is not None and self.batch_size > n_images:
            raise ValueError(f"batch size {self.batch_size} is larger than the {n_images} training images")
        if self.lr is not None and not _finite_in(self.lr, 0, 1, open_low=True):
            raise ValueError(f"learning rate must be a finite number in (0, 1], got {self.lr!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")
        if self.lr_schedule == "cosine" and self.steps is None and self.epochs is None:
            raise ValueError("a cosine schedule needs a length: give steps or epochs, not only seconds")
        if not is_whole_number(self.warmup_steps) or not 0 <= self.warmup_steps <= MAX_STEPS:
            raise ValueError(f"warmup_steps must be a whole number >= 0, got {self.warmup_steps!r}")
        if not is_whole_number(self.lr_restart_at) or not 0 <= self.lr_restart_at <= MAX_STEPS:
            raise ValueError(f"lr_restart_at must be a whole number >= 0, got {self.lr_restart_at!r}")
        if self.steps is not None and self.lr_restart_at >= self.steps:
            raise ValueError(f"lr_restart_at ({self.lr_restart_at}) must come before the last step ({self.steps})")
        if self.grad_clip is not None and not _finite_in(self.grad_clip, 0, 1e6, open_low=True):
            raise ValueError(f"grad_clip must be a positive number, got {self.grad_clip!r}")
        if not is_whole_number(self.seed) or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be a non-negative whole number, got {self.seed!r}")
        if not is_whole_number(self.report_every) or not 1 <= self.report_every <= 100_000:
            raise ValueError(f"report_every must be a whole number >= 1, got {self.report_every!r}")
        if self.ema and self.model != "ddpm":
            raise ValueError("EMA is offered for the DDPM model only")
        if not _finite_in(self.ema_decay, 0, 1, open_low=True) or self.ema_decay >= 1:
            raise ValueError(f"ema_decay must be in (0, 1), got {self.ema_decay!r}")
        if not is_whole_number(self.num_train_timesteps) or not 2 <= self.num_train_timesteps <= 10_000:
            raise ValueError(f"num_train_timesteps must be between 2 and 10000, got {self.num_train_timesteps!r}")
        if self.compile and not self.fast:
            raise ValueError("compile is part of the fast path: set fast=True too")
        if self.cuda_graph and not self.fast:
            raise ValueError("cuda_graph is part of the fast path: set fast=True too")
        return self

    @property
    def learning_rate(self) -> float:
        """The peak learning rate: ``lr`` or the tutorial's default for the model."""
        return float(self.lr) if self.lr is not None else DEFAULT_LR[self.model]

    def total_steps(self, n_images: int) -> int | None:
        """The number of optimizer steps the budget allows (None if only ``seconds`` limits it)."""
        if self.steps is not None:
            return int(self.steps)
        if self.epochs is not None:
            return max(1, math.ceil(float(self.epochs) * math.ceil(n_images / self.batch_size)))
        return None

    def lr_at(self, step: int, total: int | None) -> float:
        """The learning rate of optimizer step ``step`` (0-based) of ``total``.

        Steps count from ``lr_restart_at`` (0, unless a resumed run restarted its schedule):
        ``s = step - lr_restart_at`` of ``n = total - lr_restart_at``. ``constant``: ``lr`` (after
        the warm-up). ``cosine``: ``lr * (1 + cos(pi * p)) / 2`` with ``p`` going from 0 after the
        warm-up to 1 at the last step. The warm-up multiplies either by ``(s + 1) / warmup_steps``
        for the first ``warmup_steps`` steps.
        """
        peak = self.learning_rate
        s = step - self.lr_restart_at
        if s < self.warmup_steps:
            return peak * (max(s, 0) + 1) / self.warmup_steps
        n = None if total is None else total - self.lr_restart_at
        if self.lr_schedule == "cosine" and n is not None and n > self.warmup_steps:
            progress = min(1.0, (s - self.warmup_steps) / (n - self.warmup_steps))
            return peak * 0.5 * (1.0 + math.cos(math.pi * progress))
        return peak

    def to_dict(self) -> dict:
        """The config as plain JSON-able data (for training_log.json)."""
        return asdict(self)


def _finite_in(value: object, low: float, high: float, open_low: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return False
    return (low < value if open_low else low <= value) and value <= high


@dataclass(frozen=True)
class TrainStep:
    """One report from a training loop (every ``report_every`` optimizer steps)."""

    step: int  # optimizer steps done so far (1-based, counting the steps of a resumed run's earlier calls)
    epoch: int  # the epoch this step belongs to (0-based)
    loss: float  # mean loss of the steps since the previous report
    images_seen: int  # images used for training so far
    seconds: float  # wall-clock seconds since this loop started
    step_losses: tuple[float, ...] = field(default=())  # each step's loss since the previous report
    lr: float = 0.0  # the learning rate of the last step
    images_this_loop: int = 0  # images used since this loop started (a resumed run's earlier calls excluded)

    @property
    def images_per_second(self) -> float:
        """This loop's training speed (images per wall-clock second; 0 before any time has passed)."""
        return self.images_this_loop / self.seconds if self.seconds > 0 else 0.0


def build_model(
    kind: ModelKind, channels: int = 1, image_size: int = 28, seed: int | None = 0
) -> BasicUNet | UNet2DModel:
    """A freshly initialised model of the tutorial's architecture, seeded for reproducible weights.

    Args:
        kind: ``"basic"`` (BasicUNet, 309,057 parameters for 1 channel) or ``"ddpm"`` (the tutorial's
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
        with BUILD_LOCK:
            return BasicUNet(channels, channels)
    return build_unet2d(sample_size=image_size, in_channels=channels, out_channels=channels)


def make_training_scheduler(config: TrainConfig | None = None) -> DDPMScheduler:
    """The tutorial's training scheduler: ``DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")``."""
    from diffusers import DDPMScheduler

    config = config or TrainConfig(model="ddpm")
    return DDPMScheduler(num_train_timesteps=config.num_train_timesteps, beta_schedule=config.beta_schedule)


def make_ema(model: nn.Module, config: TrainConfig) -> EMAModel:
    """An ``EMAModel`` of the model's weights with warm-up (decay ``1 - (1 + step)^-3/4``, capped).

    On the fast path the average is updated with ``foreach`` kernels (a few launches for all
    parameters instead of a Python loop over every tensor).
    """
    from diffusers.training_utils import EMAModel

    return EMAModel(
        model.parameters(),
        decay=config.ema_decay,
        use_ema_warmup=True,
        inv_gamma=1.0,
        power=3 / 4,
        foreach=config.fast,
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
    """Train ``model`` (BasicUNet) to predict clean images from corrupted ones: the tutorial's recipe.

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
    yield from TrainingRun(model, images, config, accelerator=accelerator).steps()


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
    yield from TrainingRun(model, images, config, ema=ema, accelerator=accelerator).steps()


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


def autocasts(config: TrainConfig, device: torch.device | str) -> bool:
    """Whether a run of ``config`` on ``device`` computes in bf16: the fast path always does on CUDA, and on a
    CPU where it pays (``cpu_speed.training_precision``: BasicUNet where bfloat16 is native)."""
    return config.fast and cpu_speed.training_precision(device, config.model) == "bf16"


def fast_path_pays(device: torch.device | str, model: str) -> bool:
    """Whether a learner's run of ``model`` (``"basic"`` or ``"ddpm"``) should take the fast path on ``device``.

    Always on CUDA. On a CPU for BasicUNet: the ``training`` benchmark measured it 1.09x the tutorial's loop on
    an AVX2 CPU, 1.43x in float32 and 2.21x with bf16 autocast on an AVX-512 one with native bfloat16.
    UNet2DModel's fast path was no faster on either CPU (0.95x, 1.02x), so its runs keep the tutorial's loop.
    """
    kind = torch.device(device).type
    return kind == "cuda" or (kind == "cpu" and model == "basic")


def make_optimizer(params: list[nn.Parameter], config: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """The tutorial's optimizer (Adam for BasicUNet, AdamW for UNet2DModel); fused on the fast path.

    ``fused=True`` updates every parameter in one kernel. Where this torch has no fused kernel for
    the device, the ``foreach`` implementation (a few kernels) is used instead.
    """
    optimizer_cls = torch.optim.AdamW if config.model == "ddpm" else torch.optim.Adam
    if not config.fast:
        return optimizer_cls(params, lr=config.learning_rate)
    try:
        return optimizer_cls(params, lr=config.learning_rate, fused=True)
    except (RuntimeError, ValueError):  # no fused kernel for this device in this torch
        return optimizer_cls(params, lr=config.learning_rate, foreach=device.type != "cpu")


@dataclass
class Progress:
    """Where a run stands between two steps: what ``save_state`` writes and ``load_state`` restores."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # the current epoch (0-based)
    batch_in_epoch: int = 0  # batches of the current epoch already used
    images_seen: int = 0
    train_seconds: float = 0.0  # wall-clock seconds of training over all calls of a resumed run
    losses: list[float] = field(default_factory=list)  # every step's loss so far
    epoch_order_state: torch.Tensor | None = None  # the shuffling generator's state at the epoch's start


def _to_device(indices: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy CPU indices to ``device`` without making the host wait (pinned memory on CUDA)."""
    if device.type == "cuda":
        return indices.pin_memory().to(device, non_blocking=True)
    return indices.to(device)


class TrainingRun:
    """One training run: the model, its optimizer and EMA, the random generators and the counters.

    ``steps()`` yields ``TrainStep`` records. Between two records, ``save_state(folder)`` writes
    everything a later run needs (weights, EMA, optimizer, counters, random states), and
    ``load_state(folder)`` on a new run built the same way continues exactly where it stopped.

    Args:
        model: the BasicUNet or UNet2DModel to train in place.
        images (`torch.Tensor`, (N, C, H, W), in [0, 1]): the training set.
        config: see ``TrainConfig``.
        ema: an ``EMAModel`` (DDPM only) updated after every optimizer step, or None.
        accelerator: an ``accelerate.Accelerator`` or None.
    """

    def __init__(
        self,
        model: nn.Module,
        images: torch.Tensor,
        config: TrainConfig,
        ema: EMAModel | None = None,
        accelerator: object | None = None,
    ):
        self.images = check_images(images)
        self.config = config.validate(len(images))
        if config.ema and ema is None:
            raise ValueError("config.ema is set: pass ema=make_ema(model, config)")
        self.accelerator = accelerator
        self.device = accelerator.device if accelerator is not None else pick_device(config.device)
        self.rank = accelerator.process_index if accelerator is not None else 0
        self.world = accelerator.num_processes if accelerator is not None else 1
        if config.cuda_graph and self.device.type != "cuda":
            raise ValueError("cuda_graph needs a CUDA GPU; use fast=True alone on this device")
        if config.cuda_graph and self.world > 1:
            raise ValueError("cuda_graph trains on one GPU; leave it off under accelerate launch")
        self.total_steps = config.total_steps(len(images))
        self.model = model.to(self.device).train()
        if config.fast:
            self.model.to(memory_format=FAST_MEMORY_FORMAT[config.model])
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = make_optimizer(self.params, config, self.device)
        if accelerator is not None:
            self.model, self.optimizer = accelerator.prepare(self.model, self.optimizer)
        self.forward = torch.compile(self.model, dynamic=False) if config.compile else self.model
        self.ema = ema
        if ema is not None:
            ema.to(self.device)
        self.order_generator = torch.Generator().manual_seed(int(config.seed))
        self.noise_generator = torch.Generator(device=self.device).manual_seed(int(config.seed) + 1)
        self.progress = Progress()
        if config.model == "ddpm":
            self._scheduler = make_training_scheduler(config)
            alpha_bar = self._scheduler.alphas_cumprod.to(device=self.device, dtype=torch.float32)
            self.sqrt_alpha_bar, self.sqrt_one_minus_alpha_bar = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
        self.bf16 = autocasts(config, self.device)
        if config.cuda_graph:  # fixed shapes, captured once: let cuDNN time its algorithms in the warm-up
            torch.backends.cudnn.benchmark = True

    # ------------------------------------------------------------------ saving and resuming

    def save_state(self, folder: str | Path) -> Path:
        """Write the run's resume state to ``folder`` (replacing what is there); see ``train_state``."""
        from diffusion_core.train_state import save_train_state

        return save_train_state(self, folder)

    def load_state(self, folder: str | Path) -> list[str]:
        """Continue from a folder written by ``save_state`` of a run with the same model and config.

        Returns notes on what could not continue exactly (see ``train_state.load_train_state``).
        """
        from diffusion_core.train_state import load_train_state

        return load_train_state(self, folder)

    def unwrapped_model(self) -> nn.Module:
        """The trained module itself (without an accelerate wrapper)."""
        if self.accelerator is not None:
            return self.accelerator.unwrap_model(self.model)
        return self.model

    # ------------------------------------------------------------------ the data

    def _epoch_order(self) -> torch.Tensor:
        """This epoch's shuffled indices (this process's share), from the shuffling generator."""
        self.progress.epoch_order_state = self.order_generator.get_state()
        return torch.randperm(len(self.images), generator=self.order_generator)[self.rank :: self.world]

    def _batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """``(indices, images)`` batches, epoch after epoch, starting where ``progress`` says.

        Plain path: a ``DataLoader`` over every batch of the shuffled order (the last one possibly
        smaller), images on the CPU. Fast path: indices on the device only (the images are gathered
        there), copied once per epoch without waiting, and only full batches, so every step has the
        same shapes (what a CUDA graph needs).
        """
        resume_at = self.progress.batch_in_epoch
        if self.progress.epoch_order_state is not None:  # resumed: replay this epoch's shuffle
            self.order_generator.set_state(self.progress.epoch_order_state)
        batch = self.config.batch_size
        while True:
            order = self._epoch_order()
            if self.config.fast:
                full = len(order) // batch
                order = _to_device(order[: full * batch], self.device)
                for index in range(resume_at, full):
                    self.progress.batch_in_epoch += 1
                    yield order[index * batch : (index + 1) * batch], None
            else:
                batches = list(BatchSampler(order.tolist(), batch, drop_last=False))[resume_at:]
                loader = DataLoader(TensorDataset(self.images), batch_sampler=batches)
                for indices, (x,) in zip(batches, loader, strict=True):
                    self.progress.batch_in_epoch += 1
                    yield torch.tensor(indices), x
            resume_at = 0
            self.progress.epoch += 1
            self.progress.batch_in_epoch = 0

    # ------------------------------------------------------------------ one step's maths

    def _draw(self, batch: int, into: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """Draw this step's random numbers with the noise generator (into fixed buffers if given).

        DDPM: ``noise`` ~ N(0, I) then ``t`` ~ U{0..T-1}; BasicUNet: ``amount`` ~ U[0, 1) then
        ``noise`` ~ U[0, 1). The order is the plain path's, so both paths draw the same numbers.
        """
        generator, device = self.noise_generator, self.device
        channels, height, width = self.images.shape[1:]
        shape = (batch, channels, height, width)
        out = into or {}
        if self.config.model == "ddpm":
            out["noise"] = torch.randn(shape, generator=generator, device=device, out=out.get("noise"))
            out["t"] = torch.randint(
                0, self.config.num_train_timesteps, (batch,), generator=generator, device=device, out=out.get("t")
            )
        else:
            out["amount"] = torch.rand(batch, generator=generator, device=device, out=out.get("amount"))
            out["noise"] = torch.rand(shape, generator=generator, device=device, out=out.get("noise"))
        return out

    def _loss(self, x: torch.Tensor, draws: dict[str, torch.Tensor]) -> torch.Tensor:
        """The step's loss for clean images ``x`` in [0, 1] (B, C, H, W) and its random draws."""
        with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.bf16, cache_enabled=False):
            if self.config.model == "ddpm":
                # 1. DDPM: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise   (DDPM eq. 4)
                x0, noise, t = to_model_range(x), draws["noise"], draws["t"]
                if self.config.fast:  # the same equation from tables on the device (no host copy)
                    shape = (-1, 1, 1, 1)
                    x_t = self.sqrt_alpha_bar[t].view(shape) * x0 + self.sqrt_one_minus_alpha_bar[t].view(shape) * noise
                else:
                    x_t = self._scheduler.add_noise(x0, noise, t)
                # 2. predict the noise and compare it with the noise that was added   (DDPM eq. 14)
                noise_pred = self.forward(x_t, t, return_dict=False)[0]
                return F.mse_loss(noise_pred.float(), noise)
            # 1. BasicUNet: x_noisy = x (1 - amount) + noise amount   (the tutorial's corrupt)
            noisy_x = corrupt(x, draws["amount"], noise=draws["noise"], validate=not self.config.fast)
            # 2. predict the clean image and compare it with the clean image
            return F.mse_loss(self.forward(noisy_x).float(), x)

    # ------------------------------------------------------------------ the loop

    def steps(self) -> Iterator[TrainStep]:
        """Train until the budget is spent, yielding one record every ``report_every`` steps."""
        config, progress = self.config, self.progress
        data = None  # the plain path's batches come from a DataLoader on the CPU
        if config.fast:  # the fast path's data set lives on the device
            data = self.images.to(self.device).contiguous(memory_format=FAST_MEMORY_FORMAT[config.model])
        step_fn = self._graph_step_fn(data) if config.cuda_graph else None
        pending: list = []
        start = time.perf_counter()
        seconds_before, images_before = progress.train_seconds, progress.images_seen
        for indices, x in self._batches():
            if self.total_steps is not None and progress.step >= self.total_steps:
                break
            # 3. the learning rate of this step (warm-up, then constant or cosine)
            lr = config.lr_at(progress.step, self.total_steps)
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            # 4. forward, loss, backward (one graph replay on the CUDA-graph path)
            loss = step_fn(indices) if step_fn is not None else self._eager_backward(data, indices, x)
            # 5. update the weights (and their moving average)
            self.optimizer.step()
            if self.ema is not None:
                self.ema.step(self.params)
            progress.step += 1
            progress.images_seen += len(indices) * self.world
            # 6. record: the plain path reads the loss every step (the tutorial's loss.item());
            #    the fast path keeps it on the device until the report
            pending.append(loss.detach().clone() if config.fast else loss.item())
            done = self.total_steps is not None and progress.step >= self.total_steps
            elapsed = time.perf_counter() - start
            out_of_time = config.seconds is not None and elapsed >= config.seconds
            if progress.step % config.report_every == 0 or done or out_of_time:
                step_losses = tuple(torch.stack(pending).float().tolist()) if config.fast else tuple(pending)
                pending = []
                progress.losses.extend(step_losses)
                progress.train_seconds = seconds_before + time.perf_counter() - start
                yield TrainStep(
                    step=progress.step,
                    epoch=progress.epoch,
                    loss=sum(step_losses) / len(step_losses),
                    images_seen=progress.images_seen,
                    seconds=time.perf_counter() - start,
                    step_losses=step_losses,
                    lr=lr,
                    images_this_loop=progress.images_seen - images_before,
                )
            if done or out_of_time:
                break
        if config.fast:  # safetensors and diffusers save contiguous weights
            self.model.to(memory_format=torch.contiguous_format)

    def _eager_backward(self, data: torch.Tensor | None, indices: torch.Tensor, x: torch.Tensor | None) -> torch.Tensor:
        """Forward, loss and backward of one batch, op by op; returns the loss.

        ``x`` is the batch the DataLoader made (plain path); on the fast path it is None and the
        batch is gathered from ``data`` on the device.
        """
        x = data[indices.to(self.device)] if data is not None else x.to(self.device)
        loss = self._loss(x, self._draw(len(indices)))
        self.optimizer.zero_grad(set_to_none=True)
        if self.accelerator is not None:
            self.accelerator.backward(loss)
        else:
            loss.backward()
        if self.config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.config.grad_clip)
        return loss

    def _graph_step_fn(self, data: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """The CUDA-graph step: fill the fixed buffers, replay the captured forward/backward."""
        from diffusion_core.training_graph import GraphedBackward

        batch = self.config.batch_size
        state = self.noise_generator.get_state()
        buffers = self._draw(batch)  # this draw only sizes the buffers: every step redraws into them
        buffers["index"] = torch.zeros(batch, dtype=torch.int64, device=self.device)

        def loss_fn() -> torch.Tensor:
            return self._loss(data[buffers["index"]], buffers)

        graphed = GraphedBackward(loss_fn, self.params, grad_clip=self.config.grad_clip)
        self.noise_generator.set_state(state)  # the sizing draw did not happen, as far as training knows

        def step(index: torch.Tensor) -> torch.Tensor:
            buffers["index"].copy_(index)  # device to device: no wait
            self._draw(batch, into=buffers)
            return graphed.replay()

        return step
