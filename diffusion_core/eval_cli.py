"""``python -m diffusion_core eval``: train the feature classifier, or score the bundled DDPM model.

* ``eval --train-classifier`` trains ``diffusion_core.classifier.DigitClassifier`` on the bundled 10k digits
  (held-out split), checks its held-out accuracy and writes ``assets/classifier/``
  (``model.safetensors``, ``config.json``, ``training_log.json``).
* ``eval --bar`` checks the bar for the bundled DDPM checkpoint on n >= 1000 samples: 1000-step
  DDPM with mean confidence >= 0.95 and class balance >= 0.95, and the CPU default (DPM-Solver++,
  20 steps) with >= 0.90 and >= 0.93; FD is reported beside its real-vs-real floor. It writes
  ``assets/quality_bar.json`` (and with ``--grids`` a 64-image grid per sampler beside it).
  Sampling 1000 x 1000 steps takes about a minute on a GPU and about 45 minutes on a 2-core AVX-512 CPU
  (ONNX Runtime's forward); with ``--cache DIR`` a stopped run resumes from its last finished chunk of 256.
* ``--cache DIR`` (both modes) keeps each sampled chunk (``diffusion_core.sample_cache``): the curves' 1000-step
  DDPM point at n = 512 reads back the bar's first two chunks (same model, seed and forward).
* ``eval`` (quality mode) samples the bundled DDPM checkpoint with each scheduler at several
  step counts, scores every set (FD beside its real-vs-real floor, confidence, class balance)
  and writes ``assets/quality_curves.json`` (schema: ``quality_curves.CURVES_SCHEMA``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path

import torch

from diffusion_core import classifier as feature_classifier
from diffusion_core import comparison_lab, cpu_speed, metrics, quality_curves, sampling
from diffusion_core.benchmarks import machine_description
from diffusion_core.data import ASSETS_DIR, load_mnist, to_unit_range
from diffusion_core.figures import to_image
from diffusion_core.sample_cache import ChunkDone, SampleCache

MIN_HELDOUT_ACCURACY = 0.97  # the bar for the feature classifier
BAR_MIN_CONFIDENCE = 0.95  # the bar for the bundled DDPM checkpoint (1000-step DDPM, n >= 1000)
BAR_MIN_BALANCE = 0.95
BAR_MIN_N = 1000
CPU_DEFAULT_STEPS = 20  # the app's CPU default sampler: DPM-Solver++ with 20 steps
CPU_DEFAULT_MIN_CONFIDENCE = 0.90  # the bar for the CPU default
CPU_DEFAULT_MIN_BALANCE = 0.93
BAR_PATH = ASSETS_DIR / "quality_bar.json"
ROOT = ASSETS_DIR.parent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train-classifier", action="store_true", help="train the feature classifier")
    parser.add_argument("--epochs", type=int, default=8, help="classifier epochs (default 8)")
    parser.add_argument(
        "--classifier-dir", type=Path, default=feature_classifier.CLASSIFIER_DIR, help="classifier folder"
    )
    parser.add_argument("--model", type=Path, default=None, help="DDPM pipeline folder (default: the bundled one)")
    parser.add_argument("--n", type=int, default=128, help="samples per curve point (default 128)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the starting noise")
    parser.add_argument(
        "--samplers", nargs="+", default=["ddim", "dpm++", "euler"], choices=sampling.SAMPLERS, help="schedulers"
    )
    parser.add_argument("--steps", nargs="+", type=int, default=[5, 10, 20, 50], help="step counts per scheduler")
    parser.add_argument(
        "--ddpm-steps",
        nargs="*",
        type=_steps_and_n,
        default=[(50, None), (1000, 16)],
        metavar="STEPS[:N]",
        help="DDPM points, e.g. 10 50 1000:16 (1000 steps on 16 samples: the full chain is slow on a CPU)",
    )
    parser.add_argument("--output", type=Path, default=quality_curves.CURVES_PATH, help="curves JSON to write")
    parser.add_argument("--bar", action="store_true", help="check the bar: 1000-step DDPM on --n samples (>= 1000)")
    parser.add_argument("--bar-output", type=Path, default=BAR_PATH, help="where --bar writes its verdict")
    parser.add_argument("--device", default="auto", help="cuda, mps, cpu or auto")
    parser.add_argument("--plain", action="store_true", help="--bar: the plain scheduler loop, not the CUDA-graph step")
    parser.add_argument("--grids", action="store_true", help="--bar: also write a 64-image grid PNG per sampler")
    parser.add_argument(
        "--bar-ddpm-steps", type=int, default=None, help="--bar: DDPM steps (default T; fewer only for a smoke run)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="keep each sampled chunk of 256 images here: a stopped run resumes, and the curves reuse the bar's chunks",
    )


def _steps_and_n(text: str) -> tuple[int, int | None]:
    """Parse ``STEPS`` or ``STEPS:N`` (a point with its own sample count)."""
    steps, _, n = text.partition(":")
    try:
        return int(steps), (int(n) if n else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected STEPS or STEPS:N, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    if args.train_classifier:
        return train(args)
    if args.bar:
        return bar(args)
    return quality(args)


def train(args: argparse.Namespace) -> int:
    """Train the classifier, report held-out accuracy, save it with its log."""
    config = feature_classifier.ClassifierTrainConfig(epochs=args.epochs)
    torch.manual_seed(config.seed)
    model = feature_classifier.DigitClassifier()
    log_steps = []
    print(f"training the feature classifier: {config}")
    images, labels = load_mnist()
    _, heldout = feature_classifier.classifier_split(config)
    epochs = []
    last_epoch, epoch_losses = 0, []
    for record in feature_classifier.train_classifier(model, config):
        if record.epoch != last_epoch:
            epochs.append(_epoch_summary(model, last_epoch, epoch_losses, images[heldout], labels[heldout]))
            last_epoch, epoch_losses = record.epoch, []
        epoch_losses.append(record.loss)
        if record.step % 25 == 0:
            log_steps.append({"step": record.step, "epoch": record.epoch, "loss": round(record.loss, 5)})
            print(f"step {record.step:5d}  epoch {record.epoch}  loss {record.loss:.4f}  {record.seconds:6.1f} s")
        seconds = record.seconds
    epochs.append(_epoch_summary(model, last_epoch, epoch_losses, images[heldout], labels[heldout]))
    accuracy = epochs[-1]["heldout_accuracy"]
    probs = metrics.classify(images[heldout], model).probs
    log = {
        "task": "MNIST feature classifier for the Fréchet distance and confidence metrics",
        "command": "python -m diffusion_core eval --train-classifier"
        + (f" --epochs {args.epochs}" if args.epochs != 8 else ""),
        "created": _now(),
        "machine": machine_description(),
        "config": {**feature_classifier.ClassifierConfig().__dict__, **config.__dict__},
        "data": f"bundled MNIST t10k: {len(images) - len(heldout)} training, {len(heldout)} held-out digits",
        "seconds": round(seconds, 1),
        "epochs": epochs,
        "heldout_accuracy": accuracy,
        "heldout_mean_confidence": round(metrics.mean_confidence(probs), 4),
        "steps": log_steps,
    }
    feature_classifier.save_classifier(model, args.classifier_dir, log)
    print(f"held-out accuracy {accuracy:.4f} ({len(heldout)} digits), saved to {args.classifier_dir}")
    if accuracy < MIN_HELDOUT_ACCURACY:
        print(f"FAILED: held-out accuracy is below {MIN_HELDOUT_ACCURACY}")
        return 1
    return 0


def _epoch_summary(model, epoch: int, losses: list[float], images, labels) -> dict:
    accuracy = feature_classifier.classifier_accuracy(model, images, labels)
    model.train()
    summary = {"epoch": epoch, "mean_loss": round(sum(losses) / len(losses), 5), "heldout_accuracy": round(accuracy, 4)}
    print(f"epoch {epoch}: mean loss {summary['mean_loss']:.4f}, held-out accuracy {accuracy:.4f}")
    return summary


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()


def quality(args: argparse.Namespace) -> int:
    """Sample the DDPM checkpoint with each scheduler and step count, score, and write the curves file."""
    from diffusion_core.checkpoints import DDPM_DIR, load_ddpm_pipeline
    from diffusion_core.device import pick_device

    device = pick_device(args.device)
    folder = args.model or DDPM_DIR
    pipeline = load_ddpm_pipeline(folder, device=device)
    cache = SampleCache(args.cache) if args.cache else None
    logs: list[_ChunkLog] = []  # one per point; the last is the point in progress

    def sample_fn(sampler: str, steps: int, n: int, seed: int) -> torch.Tensor:
        logs.append(_ChunkLog(f"{sampler} {steps} steps"))
        return comparison_lab.generate(pipeline.unet, pipeline.scheduler, sampler, steps, n, seed, cache=cache,
                                       on_chunk=logs[-1])  # fmt: skip

    print(f"machine: {machine_description()}")
    print(f"model {folder}, n={args.n}, seed {args.seed}")
    points = []
    # cheapest points first, every sampler at each step count, so a run stopped early still has whole curves
    plan = [(s, steps, args.n) for s in args.samplers if s != "ddpm" for steps in args.steps]
    plan += [("ddpm", steps, n or args.n) for steps, n in args.ddpm_steps]
    plan.sort(key=lambda item: item[1] * item[2])
    real, _ = metrics.real_digits(args.n, seed=1)
    real_report = metrics.measure(real)
    start = time.perf_counter()
    for sampler, steps, n in plan:
        for point in quality_curves.quality_vs_steps(sample_fn, [sampler], [steps], n, args.seed):
            point.seconds = round(logs[-1].seconds, 3)  # chunks read back keep the time they took when sampled
            points.append(point.__dict__)
            print(
                f"{point.sampler:6s} {point.steps:5d} steps  n={point.n}  FD {point.fd:8.2f} "
                f"(floor {point.fd_floor:.2f})  confidence {point.confidence:.3f}  "
                f"balance {point.class_balance:.3f}  {point.seconds:7.1f} s",
                flush=True,
            )
            # written after every point, so a long CPU run that is stopped still leaves a valid file
            _write_curves(args, folder, points, real_report, time.perf_counter() - start, len(plan))
    print(f"wrote {args.output}")
    return 0


def _forward(device: torch.device, graph: bool = False) -> str:
    """The UNet forward the samples come from, as ``comparison_lab.generate`` picks it (``graph``: the CUDA-graph
    step), e.g. ``"onnxruntime, fp32"``: ONNX Runtime matches eager float32 to ~1e-4, the scores to 3 decimals."""
    if graph:
        return "torch, fp32, CUDA graph"
    picked = cpu_speed.sampling_forward(device)
    return f"{picked['runtime']}, {picked['precision']}"


def _write_curves(args, folder: Path, points: list[dict], real_report, seconds: float, total: int) -> None:
    from diffusion_core.device import pick_device

    notes = [
        f"total wall time {seconds:.0f} s on {machine_description()}",
        f"UNet forward: {_forward(pick_device(args.device))}",
        "FD is measured against a fixed 5000-digit real reference set; fd_floor is n real digits "
        "(disjoint from the reference) against the same set, so a perfect generator scores about fd_floor.",
        "every point starts from the same seed; seconds is the sampling time only (for chunks read back from "
        "--cache, the time they took when they were sampled).",
        "command: python -m diffusion_core eval " + " ".join(sys.argv[2:]),
    ]
    if len(points) < total:
        notes.append(f"partial: {len(points)} of {total} points")
    data = {
        "schema_version": quality_curves.CURVES_SCHEMA_VERSION,
        "created": _now(),
        "machine": machine_description(),
        "model": _relative(folder),
        "classifier": _relative(feature_classifier.CLASSIFIER_DIR),
        "n": args.n,
        "seed": args.seed,
        "reference_size": metrics.REFERENCE_SIZE,
        "floor": {"n": args.n, "fd": metrics.real_floor(args.n)},
        "real": {"confidence": real_report.confidence, "class_balance": real_report.class_balance},
        "points": points,
        "notes": notes,
    }
    quality_curves.validate_curves(data)
    temporary = args.output.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    temporary.replace(args.output)


def _relative(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return Path(path).name


class _ChunkLog:
    """``generate``'s ``on_chunk`` for the CLI: one progress line per chunk, e.g.
    ``ddpm 1000 steps: chunk 2/4, 512/1000 images, 661 s (sampled)``, and the call's sampling seconds in all."""

    def __init__(self, label: str):
        self.label = label
        self.seconds = 0.0  # chunks read back from --cache count the time they took when they were sampled

    def __call__(self, chunk: ChunkDone) -> None:
        self.seconds += chunk.seconds
        how = "read back from --cache" if chunk.cached else "sampled"
        print(
            f"  {self.label}: chunk {chunk.index + 1}/{chunk.chunks}, {chunk.images_done}/{chunk.n} images, "
            f"{chunk.seconds:.0f} s ({how})",
            flush=True,
        )


def bar(args: argparse.Namespace) -> int:
    """The bar: 1000-step DDPM and the CPU default (DPM-Solver++ 20) on n >= 1000 samples each, FD vs floor."""
    from diffusion_core.checkpoints import DDPM_DIR, load_ddpm_pipeline
    from diffusion_core.device import pick_device

    device = pick_device(args.device)
    folder = args.model or DDPM_DIR
    pipeline = load_ddpm_pipeline(folder, device=device)
    steps = args.bar_ddpm_steps or pipeline.scheduler.config.num_train_timesteps
    print(f"machine: {machine_description()}; n={args.n}, seed {args.seed}")
    fast = device.type == "cuda" and not args.plain  # the CUDA-graph DDPM step: same records, ~10x fewer launches
    cache = SampleCache(args.cache) if args.cache else None
    results = {}
    for name, sampler, sampler_steps, limits in (
        ("ddpm", "ddpm", steps, (BAR_MIN_CONFIDENCE, BAR_MIN_BALANCE)),
        ("cpu_default", "dpm++", CPU_DEFAULT_STEPS, (CPU_DEFAULT_MIN_CONFIDENCE, CPU_DEFAULT_MIN_BALANCE)),
    ):
        log = _ChunkLog(f"{sampler} {sampler_steps} steps")
        samples = comparison_lab.generate(
            pipeline.unet,
            pipeline.scheduler,
            sampler,
            sampler_steps,
            args.n,
            args.seed,
            fast=fast and sampler == "ddpm",
            cache=cache,
            on_chunk=log,
        )
        seconds = log.seconds  # chunks read back from --cache keep the time they took when sampled
        report = metrics.measure(to_unit_range(samples).clamp(0, 1))
        passed = report.n >= BAR_MIN_N and report.confidence >= limits[0] and report.class_balance >= limits[1]
        results[name] = {
            "sampler": sampler,
            "steps": sampler_steps,
            **report.__dict__,
            "seconds": round(seconds, 1),
            "forward": _forward(device, fast and sampler == "ddpm"),
            "bar": {"min_n": BAR_MIN_N, "min_confidence": limits[0], "min_class_balance": limits[1]},
            "passed": passed,
        }
        print(
            f"{sampler} {sampler_steps} steps, n={report.n}: FD {report.fd:.2f} (real-vs-real floor "
            f"{report.fd_floor:.2f}), confidence {report.confidence:.3f}, class balance {report.class_balance:.3f}, "
            f"counts {report.class_counts}, {seconds:.0f} s -> {'PASS' if passed else 'FAIL'}",
            flush=True,
        )
        if args.grids:
            grid = args.bar_output.with_name(f"grid64_{sampler.replace('+', 'p')}{sampler_steps}.png")
            to_image(to_unit_range(samples[:64]).clamp(0, 1), (0, 1), nrow=8, scale=3).save(grid)
            print(f"wrote {grid}")
    verdict = {
        "created": _now(),
        "machine": machine_description(),
        "model": _relative(folder),
        "seed": args.seed,
        **results["ddpm"],
        "cpu_default": results["cpu_default"],
        "passed": all(result["passed"] for result in results.values()),
    }
    args.bar_output.write_text(json.dumps(verdict, indent=2) + "\n")
    print(f"{'PASS' if verdict['passed'] else 'FAIL'}; wrote {args.bar_output}")
    return 0 if verdict["passed"] else 1
