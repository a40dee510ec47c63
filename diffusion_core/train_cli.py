"""``python -m diffusion_core train``: train BasicUNet (x0) or UNet2DModel (noise) and save it.

Examples::

    # the bundled BasicUNet: the tutorial's recipe, 1,400 steps of 128 (~18 epochs of the bundled 10k digits)
    python -m diffusion_core train --model basic --steps 1400 --seed 0 --output assets/checkpoints/basic_unet

    # the bundled DDPM model, with EMA, on a GPU (the recipe in assets/checkpoints/README.md)
    python -m diffusion_core train --model ddpm --steps 30000 --batch-size 256 --lr 1e-3 --lr-schedule cosine \
        --warmup-steps 500 --grad-clip 1 --ema --fast --cuda-graph --seed 0 --output assets/checkpoints/ddpm_mnist

    # a resumable run: save the whole state every 500 steps, stop after an hour, continue later
    python -m diffusion_core train --model ddpm --steps 20000 --ema --fast --state-every 500 --seconds 3600 \
        --output runs/ddpm
    python -m diffusion_core train --resume runs/ddpm-state --seconds 3600 --output runs/ddpm

    # train a finished cosine run further: a new warm-up and cosine from its last step to step 20000
    python -m diffusion_core train --resume runs/ddpm-state --steps 20000 --lr-restart --lr 5e-4 \
        --warmup-steps 200 --output runs/ddpm

    # multi-GPU: the same command under accelerate (each process takes its share of every epoch)
    accelerate launch --num_processes 4 -m diffusion_core train --model ddpm --steps 10000 --ema --fast

Writes ``model.safetensors`` + ``config.json`` (BasicUNet) or a ``DDPMPipeline.save_pretrained``
folder (UNet2DModel, safetensors), and beside it ``training_log.json`` (command, seed, steps,
images seen, seconds, device, final loss, loss curve) and ``samples.png``. With ``--save-every N``
it also writes early checkpoints to ``<output>/early/step_NNNNNN`` (``--save-at`` names single
steps). With ``--state-every N`` it writes the whole training state (``train_state``) every N steps
and at the end to ``--state-dir`` (default ``<output>-state``); ``--resume DIR`` continues such a
run with its saved settings, changing only the budget (``--steps``, ``--seconds``) or the device
(a GPU run may continue on the CPU); ``--lr-restart`` also starts a new learning-rate phase.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import platform
import shlex
import sys
import time
from pathlib import Path

import diffusers
import torch
from diffusers import DDIMPipeline, DDIMScheduler, DDPMPipeline, DDPMScheduler
from PIL import Image
from tqdm import tqdm

from diffusion_core.checkpoints import save_basic_unet, save_ddpm_pipeline
from diffusion_core.data import load_mnist
from diffusion_core.figures import to_image
from diffusion_core.train_state import read_state
from diffusion_core.training import (
    DEFAULT_LR,
    LR_SCHEDULES,
    TrainConfig,
    TrainingRun,
    build_model,
    ema_copy,
    make_ema,
    make_training_scheduler,
)
from diffusion_core.user_data import load_image_folder

LOG_NAME = "training_log.json"
SAMPLES_NAME = "samples.png"
DDIM_SAMPLES_NAME = "samples_ddim50.png"
LOSS_CURVE_POINTS = 400  # the loss curve in the log is averaged down to at most this many points


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", choices=["basic", "ddpm"], default=None, help="basic: BasicUNet x0; ddpm: UNet2DModel noise"
    )
    budget = parser.add_argument_group("budget (steps wins over epochs; seconds stops early)")
    budget.add_argument("--steps", type=int, default=None, help="optimizer steps (the total, for a resumed run)")
    budget.add_argument("--epochs", type=float, default=None, help="passes over the data (default 3 if no --steps)")
    budget.add_argument("--seconds", type=float, default=None, help="wall-clock budget of this call, in seconds")
    parser.add_argument("--batch-size", type=int, default=128, help="images per step (the tutorial's 128)")
    parser.add_argument("--lr", type=float, default=None, help=f"peak learning rate (default {DEFAULT_LR})")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=None, help="after the warm-up (constant)")
    parser.add_argument("--warmup-steps", type=int, default=None, help="linear learning-rate warm-up steps (0)")
    parser.add_argument("--grad-clip", type=float, default=None, help="clip the gradient norm to this")
    parser.add_argument("--seed", type=int, default=0, help="seeds the weights, data order and noise")
    parser.add_argument("--device", default=None, help="auto, cuda, mps or cpu (default auto)")
    parser.add_argument("--data", type=Path, default=None, help="a folder of images (default: the bundled MNIST)")
    parser.add_argument(
        "--rgb", action="store_true", help="with --data and --model ddpm: 32x32 RGB instead of 28x28 gray"
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="the fast path: data on device, fused optimizer, bf16 on CUDA (and for BasicUNet on CPUs with native bf16)",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (with --fast)")
    parser.add_argument(
        "--cuda-graph", action="store_true", help="replay forward+backward as one CUDA graph (with --fast, CUDA)"
    )
    parser.add_argument("--ema", action="store_true", help="keep an EMA of the weights and save it (ddpm)")
    parser.add_argument("--ema-decay", type=float, default=0.9999, help="the EMA's maximum decay")
    parser.add_argument("--report-every", type=int, default=None, help="steps per record (default 1 plain, 25 fast)")
    parser.add_argument("--save-every", type=int, default=None, help="also save early checkpoints every N steps")
    parser.add_argument("--save-at", type=int, nargs="*", default=[], help="also save early checkpoints at these steps")
    parser.add_argument("--state-every", type=int, default=None, help="save the resumable state every N steps")
    parser.add_argument("--state-dir", type=Path, default=None, help="where the state goes (default <output>-state)")
    parser.add_argument("--resume", type=Path, default=None, help="continue the run saved in this state folder")
    parser.add_argument(
        "--lr-restart",
        action="store_true",
        help="with --resume and a larger --steps: a new warm-up and schedule from the saved step to --steps "
        "(--lr, --lr-schedule and --warmup-steps name it; by default the saved ones)",
    )
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    parser.add_argument("--output", type=Path, default=Path("checkpoints/run"), help="output folder")
    parser.add_argument("--samples", type=int, default=16, help="images in samples.png (0: none)")
    parser.add_argument(
        "--ddpm-sample-steps", type=int, default=1000, help="ddpm: steps of the DDPM sampler for samples.png"
    )
    parser.add_argument("--ddim-samples", type=int, default=32, help="ddpm: images in samples_ddim50.png (0: none)")


def _config(args: argparse.Namespace) -> TrainConfig:
    """The run's config: from the arguments, or from ``--resume``'s saved state with this call's budget."""
    if args.resume is not None:
        try:
            state = read_state(args.resume)
        except ValueError as error:
            raise SystemExit(f"error: {error}") from None
        saved = state["config"]
        if args.model is not None and args.model != saved["model"]:
            raise SystemExit(f"error: the saved run trains {saved['model']!r}, not {args.model!r}")
        report_every = args.report_every or _report_every(args, saved["report_every"])
        given = {"steps": args.steps, "seconds": args.seconds, "device": args.device, "report_every": report_every}
        budget = {key: value for key, value in given.items() if value is not None}
        schedule = _restarted_schedule(args, saved, state_step=state["step"])
        return TrainConfig(**{**saved, **budget, **schedule, "cuda_graph": args.cuda_graph, "compile": args.compile})
    if args.model is None:
        raise SystemExit("error: give --model basic or --model ddpm (or --resume a saved run)")
    no_budget = args.epochs is None and args.steps is None and args.seconds is None
    return TrainConfig(
        model=args.model,
        steps=args.steps,
        epochs=3.0 if no_budget else args.epochs,
        seconds=args.seconds,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_schedule=args.lr_schedule or "constant",
        warmup_steps=args.warmup_steps or 0,
        grad_clip=args.grad_clip,
        seed=args.seed,
        device=args.device or "auto",
        fast=args.fast,
        compile=args.compile,
        cuda_graph=args.cuda_graph,
        report_every=args.report_every or _report_every(args, 25 if args.fast else 1),
        ema=args.ema,
        ema_decay=args.ema_decay,
    )


def _restarted_schedule(args: argparse.Namespace, saved: dict, state_step: int) -> dict:
    """The learning-rate fields of a resumed run: the saved ones, or with ``--lr-restart`` a new phase.

    A cosine schedule's length is part of the run: stretching it to a larger ``--steps`` would lift
    a learning rate that had decayed towards 0 back to about half its peak in one step, which
    throws the weights off (measured on the bundled run: loss 0.035 -> 0.18). Such a run must say
    ``--lr-restart``: a fresh warm-up from the saved step, then the schedule down to ``--steps``.
    """
    if not args.lr_restart:
        stretched = args.steps is not None and args.steps != saved.get("steps")
        if saved.get("lr_schedule") == "cosine" and stretched:
            raise SystemExit(
                f"error: the saved run's cosine schedule ends at step {saved.get('steps')}; to train to step "
                f"{args.steps}, add --lr-restart (a new warm-up and cosine from step {state_step}; --lr and "
                "--warmup-steps set them)"
            )
        return {}
    if args.steps is None or args.steps <= state_step:
        raise SystemExit(f"error: --lr-restart needs --steps beyond the saved step {state_step}")
    given = {"lr": args.lr, "lr_schedule": args.lr_schedule, "warmup_steps": args.warmup_steps}
    return {"lr_restart_at": state_step, **{key: value for key, value in given.items() if value is not None}}


def _report_every(args: argparse.Namespace, default: int) -> int:
    """Report often enough that a record lands on every step that saves something."""
    saving = [args.save_every, args.state_every, *args.save_at]
    return math.gcd(default, *(int(step) for step in saving if step))


def run(args: argparse.Namespace) -> int:
    from accelerate import Accelerator

    if args.threads is not None:
        torch.set_num_threads(max(1, args.threads))  # on a shared CPU, fewer threads can be faster
    config = _config(args)
    accelerator = Accelerator(cpu=config.device == "cpu")
    main_process = accelerator.is_main_process
    command = "python -m diffusion_core train " + " ".join(shlex.quote(a) for a in sys.argv[2:])
    if sys.argv[1:2] != ["train"]:  # called from accelerate launch or from Python
        command = " ".join(shlex.quote(a) for a in sys.argv)

    # 1. the data: the bundled MNIST digits or the learner's folder
    if args.data is None:
        images = load_mnist()[0]
        data_name = "bundled MNIST t10k (10,000 digits)"
    else:
        image_format = "rgb32" if args.rgb else "gray28"
        if args.rgb and config.model != "ddpm":
            raise SystemExit("--rgb is for --model ddpm")
        images = load_image_folder(args.data, image_format)
        data_name = f"{args.data} ({len(images)} images, {image_format})"

    # 2. the model and the run, continued from a saved state if asked
    try:
        config.validate(len(images))
        model = build_model(config.model, channels=images.shape[1], image_size=images.shape[-1], seed=config.seed)
        ema = make_ema(model, config) if config.ema else None
        training = TrainingRun(model, images, config, ema=ema, accelerator=accelerator)
        resume_notes = training.load_state(args.resume) if args.resume is not None else []
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    state_dir = args.state_dir or args.resume or args.output.with_name(args.output.name + "-state")
    history = _History(command if args.resume is None else None)
    if args.resume is not None:
        history = _History.load(args.resume, command)
        print(f"resuming {args.resume} at step {training.progress.step}")
        for note in resume_notes:
            print(f"note: {note}")
        if config.lr_restart_at == training.progress.step:
            end = training.total_steps
            print(
                f"learning rate: a new {config.warmup_steps}-step warm-up to {config.learning_rate:g} from step "
                f"{config.lr_restart_at}, then {config.lr_schedule}" + (f" to step {end}" if end else "")
            )

    # 3. train, with a progress bar, early checkpoints and resume states
    total = training.total_steps
    record = None
    started = time.perf_counter()
    early_steps = sorted(set(args.save_at))
    next_save, next_state = (
        _next_multiple(args.save_every, training.progress.step),
        _next_multiple(args.state_every, training.progress.step),
    )
    with tqdm(total=total, initial=training.progress.step, unit="step", disable=not main_process) as bar:
        for record in training.steps():
            bar.update(record.step - bar.n)
            bar.set_postfix(loss=f"{record.loss:.4f}", img_s=f"{record.images_per_second:.0f}")
            if not main_process:
                continue
            due_early = [s for s in early_steps if s <= record.step]
            if (next_save and record.step >= next_save) or due_early:
                early = args.output / "early" / f"step_{record.step:06d}"
                _save(training, args, early, record, history, data_name, early=True)
                tqdm.write(f"saved an early checkpoint to {early}")
                next_save = _next_multiple(args.save_every, record.step)
                early_steps = [s for s in early_steps if s > record.step]
            if next_state and record.step >= next_state:
                history.save_with_state(training.save_state(state_dir))
                next_state = _next_multiple(args.state_every, record.step)
    if record is None:
        raise SystemExit("error: training produced no steps (a resumed run that is already done?)")

    # 4. the final checkpoint, its log and its samples (and the state, to continue later)
    if main_process:
        seconds = time.perf_counter() - started
        print(
            f"trained to step {record.step} ({record.images_seen} images) in {seconds:.0f} s; "
            f"final loss {record.loss:.4f}"
        )
        if args.state_every or args.resume is not None:
            history.save_with_state(training.save_state(state_dir))
            print(f"saved the training state to {state_dir}")
        folder = _save(training, args, args.output, record, history, data_name)
        print(f"saved to {folder}")
    accelerator.wait_for_everyone()
    return 0


def _next_multiple(every: int | None, step: int) -> int | None:
    """The first multiple of ``every`` above ``step`` (None when ``every`` is not set)."""
    return (step // every + 1) * every if every else None


class _History:
    """The commands that made a run (one per call of a resumed run), kept beside its state."""

    FILE = "commands.json"

    def __init__(self, command: str | None):
        self.commands = [command] if command else []

    @classmethod
    def load(cls, folder: Path, command: str) -> _History:
        history = cls(None)
        path = Path(folder) / cls.FILE
        if path.is_file():
            history.commands = list(json.loads(path.read_text()))
        history.commands.append(command)
        return history

    def save_with_state(self, folder: Path) -> None:
        (Path(folder) / self.FILE).write_text(json.dumps(self.commands, indent=2))


def _save(
    training: TrainingRun, args, folder: Path, record, history: _History, data_name: str, early: bool = False
) -> Path:
    """Write the checkpoint, training_log.json and the sample grids for one point of training.

    Early checkpoints of the DDPM model get only the cheap 50-step DDIM grid (16 images), not the
    1000-step DDPM grid. The grids are drawn on the training device.
    """
    folder = Path(folder)
    config, ema, progress = training.config, training.ema, training.progress
    model = training.unwrapped_model()
    # a copy in the default memory layout: the training model (maybe channels_last) keeps training
    # after an early checkpoint
    weights = ema_copy(model, ema) if ema is not None else copy.deepcopy(model)
    weights = weights.to(memory_format=torch.contiguous_format).eval()
    on_host = copy.deepcopy(weights).to("cpu")  # saved from the host; the grids are drawn on the device
    if config.model == "basic":
        save_basic_unet(on_host, folder)
    else:
        save_ddpm_pipeline(on_host, make_training_scheduler(config), folder)
    tail = progress.losses[-100:] or [record.loss]
    seconds = max(progress.train_seconds, 1e-9)
    log = {
        "command": history.commands[-1] if history.commands else "",
        "commands": history.commands,  # one per call of a resumed run
        "model": "BasicUNet (predicts x0)" if config.model == "basic" else "UNet2DModel (predicts the noise)",
        "data": data_name,
        "seed": config.seed,
        "steps": record.step,
        "epochs": round(record.images_seen / _data_size(args, record), 3),
        "images_seen": record.images_seen,
        "seconds": round(progress.train_seconds, 1),
        "images_per_second": round(record.images_seen / seconds, 1),
        "device": _device_name(config),
        "final_loss": record.loss,
        "final_loss_mean_last_100_steps": sum(tail) / len(tail),
        "ema": bool(ema is not None),
        "early_checkpoint": early,
        "config": config.to_dict(),
        "samples": {},  # filled in as each grid is drawn
        "versions": {
            "torch": torch.__version__,
            "diffusers": diffusers.__version__,
            "python": platform.python_version(),
        },
        "loss_curve": _downsample(progress.losses, LOSS_CURVE_POINTS),
    }

    def write_log() -> None:
        (folder / LOG_NAME).write_text(json.dumps(log, indent=2))

    # the log first: the sample grids can take minutes, and a run stopped then keeps its record
    write_log()
    if args.samples > 0 and not (early and config.model == "ddpm"):
        start = time.perf_counter()
        sample_steps = 5 if config.model == "basic" else args.ddpm_sample_steps
        _samples_png(weights, config, args.samples, sample_steps, config.seed).save(folder / SAMPLES_NAME)
        log["samples"][SAMPLES_NAME] = {
            "sampler": "the tutorial's 5-step 'move 1/(n-i) of the way' sampler"
            if config.model == "basic"
            else f"DDPMPipeline, {sample_steps} steps",
            "images": args.samples,
            "seed": config.seed,
            "seconds": round(time.perf_counter() - start, 1),
        }
        write_log()
    if config.model == "ddpm" and args.ddim_samples > 0:
        start = time.perf_counter()
        count = min(args.ddim_samples, 16) if early else args.ddim_samples
        _ddim_png(weights, config, count, config.seed).save(folder / DDIM_SAMPLES_NAME)
        log["samples"][DDIM_SAMPLES_NAME] = {
            "sampler": "DDIMPipeline, 50 steps, eta 0",
            "images": count,
            "seed": config.seed,
            "seconds": round(time.perf_counter() - start, 1),
        }
        write_log()
    return folder


def _data_size(args, record) -> int:
    return len(load_mnist()[0]) if args.data is None else max(1, record.images_seen)  # folders: epochs unknown here


def _device_name(config: TrainConfig) -> str:
    from diffusion_core.device import pick_device

    device = pick_device(config.device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"{device.type} ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def _downsample(values: list[float], points: int) -> list[float]:
    if len(values) <= points:
        return [round(v, 6) for v in values]
    size = len(values) / points
    return [
        round(sum(values[int(i * size) : int((i + 1) * size)]) / len(values[int(i * size) : int((i + 1) * size)]), 6)
        for i in range(points)
    ]


@torch.no_grad()
def _samples_png(model, config: TrainConfig, count: int, steps: int, seed: int) -> Image.Image:
    generator = torch.Generator().manual_seed(seed)
    if config.model == "basic":
        # the tutorial's sampler: start from U[0, 1) noise and move 1/(n - i) of the way to the prediction
        channels = model.down_layers[0].in_channels
        x = torch.rand(count, channels, 28, 28, generator=generator).to(next(model.parameters()).device)
        for i in range(steps):
            pred = model(x)
            mix_factor = 1 / (steps - i)
            x = x * (1 - mix_factor) + pred * mix_factor
        return to_image(x.cpu(), (0, 1), nrow=8, scale=3)
    scheduler = DDPMScheduler.from_config(make_training_scheduler(config).config)
    pipeline = DDPMPipeline(unet=model, scheduler=scheduler)
    pipeline.set_progress_bar_config(disable=True)
    out = pipeline(batch_size=count, generator=generator, num_inference_steps=steps, output_type="np").images
    return to_image(torch.from_numpy(out).permute(0, 3, 1, 2), (0, 1), nrow=8, scale=3)


@torch.no_grad()
def _ddim_png(model, config: TrainConfig, count: int, seed: int) -> Image.Image:
    scheduler = DDIMScheduler.from_config(make_training_scheduler(config).config)
    pipeline = DDIMPipeline(unet=model, scheduler=scheduler)
    pipeline.set_progress_bar_config(disable=True)
    generator = torch.Generator().manual_seed(seed)
    out = pipeline(batch_size=count, generator=generator, num_inference_steps=50, eta=0.0, output_type="np").images
    return to_image(torch.from_numpy(out).permute(0, 3, 1, 2), (0, 1), nrow=8, scale=3)
