"""Training throughput: the tutorial's loop vs ``diffusion_core.training``'s fast paths, same run.

The tutorial's loop is written out here as the tutorial has it: a shuffling ``DataLoader`` over
the images, each batch copied to the device, fp32, plain Adam/AdamW, ``loss.item()`` after every
step. It runs at the tutorial's batch of 128 and is the yardstick of every ratio.

The fast paths are ``TrainingRun`` with ``fast=True`` (data on the device, fused optimizer, one
host sync per report, the per-model memory layout, bf16 autocast on CUDA and where it pays on a CPU with
native bfloat16 (``cpu_speed.training_precision``), where the same path also runs in float32, "eager, fp32",
to show what bf16 adds): eagerly, with one
CUDA graph per step ("graph", CUDA), and with the model compiled by ``torch.compile`` inside that
graph ("graph+compile", CUDA; ``DIFFUSION_BENCH_COMPILE=0`` leaves these rows out, since each
compilation costs a minute or two of a short GPU lease). Rows come at the equal batch (128) and
at larger batches, where a small model finally fills a GPU; on the CPU, BasicUNet also at 64 and
256, to show where its best batch lies.

Every row is the steady state: warm-up steps (and graph capture or compilation, reported apart)
first, then at least ``DIFFUSION_BENCH_ROW_SECONDS`` seconds (default 10; 3 with ``--quick``) of
training, ended at a report. One step of each path is profiled, and its top operations are listed.

Targets (issue "Digits, not blobs"), in img/s against the tutorial's loop at batch 128:
GPU UNet2DModel >= 5x at batch 128 and at its best batch; GPU BasicUNet >= 4x at 128, >= 10x at
its best batch; CPU BasicUNet >= 1.5x.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from diffusion_core import cpu_speed
from diffusion_core.benchmarks import BenchTable
from diffusion_core.corruption import corrupt
from diffusion_core.data import load_mnist, to_model_range
from diffusion_core.device import pick_device
from diffusion_core.training import TrainConfig, TrainingRun, build_model, make_training_scheduler

TUTORIAL_BATCH = int(os.environ.get("DIFFUSION_BENCH_BATCH", "128"))  # the tutorial's 128 (smaller: a smoke run)
GPU_BATCHES = {"basic": (512, 1024, 2048), "ddpm": (512, 1024)}  # the "best batch" candidates on a GPU
CPU_BATCHES = {"basic": (64, 256), "ddpm": ()}  # UNet2DModel takes ~5 s a step at 128 on 2 cores
# the compiled graph at the best batch, where that target was missed (H200, 2026-11-28: BasicUNet 9.4x of
# 10x; UNet2DModel already 7.3x of 5x, and compiling it at batch 1024 would cost another minute or two)
COMPILE_AT_BEST_BATCH = {"basic": True, "ddpm": False}
TARGETS = {  # (at batch 128, at the best batch), GPU
    "basic": (4.0, 10.0),
    "ddpm": (5.0, 5.0),
}
CPU_TARGET_BASIC = 1.5
NAMES = {"basic": "BasicUNet (x0)", "ddpm": "UNet2DModel (noise)"}
FP32_VARIANT = "eager, fp32"  # on a CPU whose fast path autocasts to bf16: the same eager path in float32


def past_deadline() -> bool:
    """True once ``DIFFUSION_BENCH_DEADLINE`` (a Unix time) has passed: the remaining rows are skipped.

    A GPU lease ends a call at a fixed time; rows skipped this way still leave a written table.
    """
    deadline = os.environ.get("DIFFUSION_BENCH_DEADLINE")
    return bool(deadline) and time.time() >= float(deadline)


def row_seconds(quick: bool) -> float:
    """Seconds of steady-state training per row (``DIFFUSION_BENCH_ROW_SECONDS``, default 10, quick 3)."""
    value = os.environ.get("DIFFUSION_BENCH_ROW_SECONDS")
    return float(value) if value else (3.0 if quick else 10.0)


class TutorialLoop:
    """The tutorial's training loop, one step per ``step()`` call (it syncs every step: ``loss.item()``)."""

    def __init__(self, kind: str, images: torch.Tensor, device: torch.device, batch: int = TUTORIAL_BATCH):
        self.kind, self.device = kind, device
        self.model = build_model(kind, seed=0).to(device).train()
        self.optimizer = (torch.optim.AdamW if kind == "ddpm" else torch.optim.Adam)(
            self.model.parameters(), lr=4e-4 if kind == "ddpm" else 1e-3
        )
        self.scheduler = make_training_scheduler() if kind == "ddpm" else None
        self.loader = DataLoader(TensorDataset(images), batch_size=batch, shuffle=True, drop_last=True)
        self.batches = iter(self.loader)
        self.losses: list[float] = []

    def step(self) -> int:
        """One optimizer step; returns the batch size."""
        try:
            (x,) = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            (x,) = next(self.batches)
        x = x.to(self.device)
        if self.kind == "ddpm":
            x = to_model_range(x)
            noise = torch.randn(x.shape).to(self.device)
            t = torch.randint(0, 1000, (x.shape[0],), device=self.device).long()
            noise_pred = self.model(self.scheduler.add_noise(x, noise, t), t, return_dict=False)[0]
            loss = F.mse_loss(noise_pred, noise)
        else:
            noise_amount = torch.rand(x.shape[0]).to(self.device)
            loss = F.mse_loss(self.model(corrupt(x, noise_amount)), x)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.losses.append(loss.item())  # the tutorial's per-step host sync
        return x.shape[0]


@dataclass
class Rate:
    """A steady-state measurement."""

    steps: int
    seconds: float
    images: int
    warmup_seconds: float  # warm-up steps, graph capture or compilation

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds

    @property
    def ms_per_step(self) -> float:
        return 1000 * self.seconds / self.steps


def measure_tutorial(kind: str, images: torch.Tensor, device: torch.device, seconds: float) -> Rate:
    """The tutorial's loop: 2 warm-up steps, then steps until ``seconds`` have passed."""
    loop = TutorialLoop(kind, images, device)
    start = time.perf_counter()
    for _ in range(2):
        loop.step()
    warmup = time.perf_counter() - start
    steps, count, start = 0, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        count += loop.step()
        steps += 1
    return Rate(steps, time.perf_counter() - start, count, warmup)


def fast_config(kind: str, device: torch.device, batch: int, variant: str, report_every: int) -> TrainConfig:
    """The fast path's config for one bench row (``variant``: "eager", "eager, fp32", "graph", "compile" or
    "graph+compile")."""
    return TrainConfig(
        model=kind,
        steps=10_000_000,
        epochs=None,
        batch_size=batch,
        device=device.type,
        fast=True,
        cuda_graph=variant in ("graph", "graph+compile"),
        compile=variant in ("compile", "graph+compile"),
        report_every=report_every,
    )


def measure_fast(
    kind: str, images: torch.Tensor, device: torch.device, batch: int, variant: str, seconds: float
) -> Rate:
    """The fast path: a first report after the warm-up (and capture/compile), then whole reports for ``seconds``."""
    report_every = 25 if device.type == "cuda" else 1
    run = TrainingRun(build_model(kind, seed=0), images, fast_config(kind, device, batch, variant, report_every))
    if variant == FP32_VARIANT:
        run.bf16 = False  # the same path without its autocast
    start = time.perf_counter()
    records = run.steps()
    first = next(records)  # ends with a report: the device is idle here
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    for record in records:
        if time.perf_counter() - start >= seconds:
            return Rate(record.step - first.step, time.perf_counter() - start, record.images_seen - first.images_seen,
                        warmup)  # fmt: skip
    raise RuntimeError("the training run ended before the measurement")


def profile_table(kind: str, images: torch.Tensor, device: torch.device, variant: str) -> BenchTable:
    """The top operations of one profiled step of a path (after its warm-up)."""
    from torch.profiler import ProfilerActivity, profile

    on_gpu = device.type == "cuda"
    if variant == "tutorial":
        loop = TutorialLoop(kind, images, device)
        loop.step()
        loop.step()
        step = loop.step
    else:
        run = TrainingRun(build_model(kind, seed=0), images, fast_config(kind, device, TUTORIAL_BATCH, variant, 1))
        records = run.steps()
        next(records)
        next(records)

        def step() -> None:
            next(records)

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_gpu else [])
    with profile(activities=activities) as prof:
        step()
        if on_gpu:
            torch.cuda.synchronize()
    sort_key = "self_device_time_total" if on_gpu else "self_cpu_time_total"
    events = sorted(prof.key_averages(), key=lambda e: getattr(e, sort_key), reverse=True)
    total_host = sum(e.self_cpu_time_total for e in events)
    total_device = sum(getattr(e, "self_device_time_total", 0.0) for e in events) if on_gpu else 0.0
    table = BenchTable(
        title=f"One profiled step: {NAMES[kind]}, {variant}, batch {TUTORIAL_BATCH}",
        columns=["operation", "calls", "self host time", "self device time" if on_gpu else "-"],
    )
    for event in events[:6]:
        device_time = getattr(event, "self_device_time_total", 0.0)
        table.rows.append([
            f"`{event.key[:60]}`",
            event.count,
            f"{event.self_cpu_time_total / 1000:.2f} ms",
            f"{device_time / 1000:.2f} ms" if on_gpu else "-",
        ])  # fmt: skip
    table.notes.append(
        f"all operations: {total_host / 1000:.1f} ms host"
        + (f", {total_device / 1000:.1f} ms device" if on_gpu else "")
        + f"; {sum(e.count for e in events)} calls"
    )
    return table


def _row(kind: str, label: str, batch: int, rate: Rate | str, base: float | None) -> list:
    if isinstance(rate, str):
        return [NAMES[kind], label, batch, "-", "-", rate, "-", "-"]
    ratio = f"{rate.images_per_second / base:.2f}x" if base else "1.00x"
    return [
        NAMES[kind], label, batch, rate.steps, f"{rate.ms_per_step:.1f} ms", f"{rate.images_per_second:,.0f}",
        ratio, f"{rate.warmup_seconds:.1f} s",
    ]  # fmt: skip


def _try(fn) -> Rate | str:
    try:
        return fn()
    except Exception as error:  # torch.compile needs a working compiler toolchain; a GPU may run out of memory
        return f"failed: {type(error).__name__}: {str(error)[:80]}"


def _cpu_precision_note(device: torch.device) -> str:
    """What the CPU's fast path computes in, per model (``cpu_speed.training_precision``)."""
    native = ", ".join(sorted(cpu_speed.cpu_flags() & cpu_speed.BF16_FLAGS)) or "none"
    autocast = [NAMES[kind] for kind in NAMES if cpu_speed.training_precision(device, kind) == "bf16"]
    if autocast:
        return (f"bf16 autocast for {' and '.join(autocast)}, fp32 otherwise (native bfloat16 on this CPU: {native}; "
                f"'{FP32_VARIANT}' = the same path without autocast)")  # fmt: skip
    return f"fp32 (native bfloat16 on this CPU: {native})"


def _compile_rows() -> bool:
    return os.environ.get("DIFFUSION_BENCH_COMPILE", "1") != "0"


def run(quick: bool = False) -> list[BenchTable]:
    device = pick_device()
    images = load_mnist()[0]
    on_gpu = device.type == "cuda"
    seconds = row_seconds(quick)
    table = BenchTable(
        title="Training throughput: the tutorial's loop vs the fast paths",
        columns=["model", "loop", "batch", "steps", "time per step", "img/s", "ratio vs tutorial loop", "warm-up"],
    )
    verdicts = []
    profiles = []
    for kind in ("basic", "ddpm"):
        tutorial = measure_tutorial(kind, images, device, seconds)
        base = tutorial.images_per_second
        table.rows.append(
            _row(kind, "tutorial: DataLoader, fp32, loss.item() each step", TUTORIAL_BATCH, tutorial, None)
        )
        best: dict[tuple[str, int], float] = {}

        def measure(variant: str, batch: int, kind: str = kind, best: dict = best, base: float = base) -> None:
            if past_deadline():
                table.rows.append(_row(kind, f"fast, {variant}", batch, "skipped: past the call's deadline", base))
                return
            rate = _try(lambda: measure_fast(kind, images, device, batch, variant, seconds))
            table.rows.append(_row(kind, f"fast, {variant}", batch, rate, base))
            if not isinstance(rate, str):
                best[(variant, batch)] = rate.images_per_second

        # 1. the equal batch: each fast path against the tutorial's loop
        variants = ["eager", "graph", *(["graph+compile"] if _compile_rows() else [])] if on_gpu else ["eager"]
        precision = cpu_speed.training_precision(device, kind)
        if not on_gpu and precision == "bf16":
            variants.append(FP32_VARIANT)
        for variant in variants:
            measure(variant, TUTORIAL_BATCH)
        # 2. larger (on the CPU also smaller) batches with the fastest path that needs no compiling
        variant = "graph" if on_gpu else "eager"
        for batch in (GPU_BATCHES if on_gpu else CPU_BATCHES)[kind]:
            measure(variant, batch)
        # 3. the compiled graph at the graph's best batch, if that is not 128
        graph_batches = {b: v for (name, b), v in best.items() if name == "graph"}
        best_graph_batch = max(graph_batches, key=graph_batches.get, default=TUTORIAL_BATCH)
        if on_gpu and _compile_rows() and COMPILE_AT_BEST_BATCH[kind] and best_graph_batch != TUTORIAL_BATCH:
            measure("graph+compile", best_graph_batch)
        at_128 = max((v for (_, b), v in best.items() if b == TUTORIAL_BATCH), default=0.0) / base
        top = max(best.items(), key=lambda item: item[1], default=(("-", 0), 0.0))
        if on_gpu:
            want_128, want_best = TARGETS[kind]
            verdicts.append(
                f"{NAMES[kind]}: {at_128:.1f}x at batch {TUTORIAL_BATCH} (target {want_128:g}x: {'met' if at_128 >= want_128 else 'not met'}), "
                f"{top[1] / base:.1f}x at its best batch {top[0][1]} ({top[0][0]}; target {want_best:g}x: "
                f"{'met' if top[1] / base >= want_best else 'not met'})"
            )
        elif kind == "basic":
            verdicts.append(
                f"{NAMES[kind]}: {at_128:.2f}x at batch {TUTORIAL_BATCH}, {top[1] / base:.2f}x at its best batch {top[0][1]} "
                f"(CPU target {CPU_TARGET_BASIC:g}x: {'met' if top[1] / base >= CPU_TARGET_BASIC else 'not met'})"
            )
        # 4. one profiled step of the tutorial's loop and of the eager fast path: the operations and, on a
        #    GPU, the kernels (a replayed graph shows as one launch, so it is not profiled)
        for variant in () if past_deadline() else ("tutorial", "eager"):
            profile = _try(lambda v=variant, k=kind: profile_table(k, images, device, v))
            if isinstance(profile, BenchTable):
                profiles.append(profile)
    table.notes.extend(verdicts)
    table.notes.append(
        f"each row: warm-up first (reported apart), then at least {seconds:g} s of steady-state training; "
        f"ratios are img/s against the tutorial's loop at batch {TUTORIAL_BATCH}, measured in the same run"
    )
    table.notes.append(
        "fast = data on the device, fixed-shape batches, fused Adam/AdamW, one host sync per report"
        + (
            ", bf16 autocast, channels_last for BasicUNet only"
            if on_gpu
            else f", channels_last for BasicUNet, {_cpu_precision_note(device)}"
        )
        + "; graph = forward + loss + backward replayed as one CUDA graph; graph+compile = the same graph of the "
        "torch.compile'd model (its compilation is in the warm-up); no EMA in any row"
    )
    if not on_gpu:
        table.notes.append("2 shared CPU cores: absolute img/s vary with the load; the ratios come from the same run")
    return [table, *profiles]
