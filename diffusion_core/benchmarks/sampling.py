"""Sampling benchmarks: what a learner waits for on a CPU, and the GPU fast path.

CPU (always):
* the UNet2DModel forward for 16 images (the cost every step pays);
* time to the first streamed record (``SampleStep``) of a 16-image DPM-Solver++ run, target < 0.5 s;
* a 16-image DPM-Solver++ 20-step grid (sampling + ``make_grid`` PNG), target < 3 s, against the
  tutorial's 1000-step DDPM loop for the same 16 images (extrapolated from 20 of its steps: the
  per-step cost is the same forward);
* the faster-forward candidates of issue 13 (ONNX Runtime, bf16 autocast, channels_last, ``inference_mode``,
  two batches of 8), each against the eager float32 forward in the same run, and the grid and first record
  with the forward the app picks on this CPU (``cpu_speed.forward_precision`` and ``forward_runtime``)
  against eager float32, interleaved; without ``--quick``, also the quality of 512 digits sampled each way
  (FD, confidence, balance: ``metrics.measure``), to show the faster forward leaves the results unchanged.

The GPU fast path has its own suite (``gpu_sampling``), so a short GPU lease measures only that.
"""

from __future__ import annotations

import io
import os
import statistics
import time

import torch
from diffusers import DDPMScheduler, UNet2DModel

from diffusion_core import comparison_lab, cpu_speed, metrics, onnx_unet, sampling
from diffusion_core.benchmarks import BenchTable, ms, time_calls
from diffusion_core.data import to_unit_range
from diffusion_core.figures import to_image
from diffusion_core.models import build_unet2d
from diffusion_core.noising import SEED_TRAINING_SCHEDULE, make_scheduler

FIRST_FRAME_TARGET_S = 0.5
GRID_TARGET_S = 3.0


def bundled_or_fresh_model(device: str) -> tuple[UNet2DModel, DDPMScheduler, str]:
    """The bundled DDPM checkpoint when present, else a fresh model of the same (seed) config."""
    try:
        pipeline = sampling.bundled_ddpm(device)
        return pipeline.unet, pipeline.scheduler, "bundled ddpm_mnist"
    except ValueError:
        torch.manual_seed(0)
        unet = build_unet2d().eval().to(device)
        return unet, make_scheduler(SEED_TRAINING_SCHEDULE), "fresh seed-config UNet2DModel (no checkpoint yet)"


def _grid_png(
    unet: UNet2DModel, scheduler: DDPMScheduler, sampler: str, steps: int, batch: int, precision: str = "fp32",
    runtime: str = "torch",
) -> bytes:  # fmt: skip
    generator = torch.Generator().manual_seed(0)
    final = sampling.final_sample(
        sampling.scheduler_sample(
            unet, scheduler, sampler, steps, batch, generator=generator, precision=precision, runtime=runtime
        )
    )
    buffer = io.BytesIO()
    to_image((final.float().cpu() / 2 + 0.5).clamp(0, 1), (0, 1), nrow=8, scale=2).save(buffer, format="PNG")
    return buffer.getvalue()


def _first_record_seconds(
    unet: UNet2DModel, scheduler: DDPMScheduler, batch: int, precision: str = "fp32", runtime: str = "torch"
) -> float:
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(0)
    steps = sampling.scheduler_sample(unet, scheduler, "dpm++", 20, batch, generator=generator, precision=precision,
                                      runtime=runtime)  # fmt: skip
    next(steps)
    return time.perf_counter() - start


def cpu_tables(quick: bool) -> list[BenchTable]:
    unet, scheduler, which = bundled_or_fresh_model("cpu")
    repeats = 2 if quick else 5
    x = torch.randn(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        forward = time_calls(lambda: unet(x, torch.tensor(500)), repeats=repeats * 2, warmup=2)
    forward_choice = cpu_speed.sampling_forward("cpu")  # as the app samples the bundled model on this CPU
    first = [_first_record_seconds(unet, scheduler, 16, **forward_choice) for _ in range(repeats)]
    grid = time_calls(lambda: _grid_png(unet, scheduler, "dpm++", 20, 16, **forward_choice), repeats, warmup=1)
    # the tutorial's way: DDPM, 1000 steps; time 20 of them and scale (each step is one forward)
    ddpm_20 = time_calls(lambda: _grid_png(unet, scheduler, "ddpm", 20, 16), repeats=1, warmup=0)[0]
    seed_1000 = ddpm_20 * 1000 / 20
    forward_median = statistics.median(forward)
    table = BenchTable(
        title="Sampling on the CPU: what a learner waits for (16 images, 28x28)",
        columns=["measure", "median", "target", "met"],
    )
    table.rows.append(["UNet2DModel forward, 16 images (one step, eager PyTorch)", ms(forward_median), "-", "-"])
    table.rows.append([
        "first streamed record, DPM-Solver++ (scheduler + noise + 1 forward)",
        ms(statistics.median(first)),
        f"< {FIRST_FRAME_TARGET_S:g} s",
        "yes" if statistics.median(first) < FIRST_FRAME_TARGET_S else "no",
    ])  # fmt: skip
    grid_median = statistics.median(grid)
    table.rows.append([
        "16-image grid, DPM-Solver++ 20 steps (+ make_grid PNG)",
        f"{grid_median:.2f} s",
        f"< {GRID_TARGET_S:g} s",
        "yes" if grid_median < GRID_TARGET_S else "no",
    ])  # fmt: skip
    table.rows.append([
        "16-image grid, the tutorial's DDPM 1000 steps (extrapolated from 20)",
        f"{seed_1000:.1f} s",
        "-",
        f"DPM-Solver++ 20 is {seed_1000 / grid_median:.0f}x faster",
    ])  # fmt: skip
    wait_policy = os.environ.get("OMP_WAIT_POLICY", "not set (OpenMP spins)")
    table.notes.append(
        f"model: {which}; the forward the app picks: {forward_choice['runtime']}, {forward_choice['precision']} (the "
        f"first row: eager PyTorch); torch threads: {torch.get_num_threads()}; OMP_WAIT_POLICY: {wait_policy}"
    )
    table.notes.append(
        "the forward is the cost: 20 steps ~ 20 forwards. On a loaded 2-core machine OpenMP's default "
        "spin-waiting makes a 2-thread forward several times slower; OMP_WAIT_POLICY=PASSIVE (set before "
        "torch is imported) avoids that"
    )
    return [table]


def candidate_tables(quick: bool) -> list[BenchTable]:
    """Issue 13's candidates for a faster CPU forward, and the app's pick, each against eager float32."""
    unet, scheduler, which = bundled_or_fresh_model("cpu")
    repeats = 2 if quick else 5
    x = torch.randn(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    t = torch.tensor(500)

    def forward(inputs: torch.Tensor = x) -> torch.Tensor:
        with torch.no_grad():
            return unet(inputs, t).sample

    def bf16() -> torch.Tensor:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            return unet(x, t).sample

    def inference_mode() -> torch.Tensor:
        with torch.inference_mode():
            return unet(x, t).sample

    def channels_last() -> torch.Tensor:
        unet.to(memory_format=torch.channels_last)
        try:
            return forward(x.contiguous(memory_format=torch.channels_last))
        finally:
            unet.to(memory_format=torch.contiguous_format)  # the shared model goes back as it was

    reference = forward()
    flags = cpu_speed.cpu_flags()
    candidates = {
        "eager float32 (no_grad), the yardstick": forward,
        "channels_last": channels_last,
        "torch.inference_mode": inference_mode,
        "two batches of 8": lambda: torch.cat([forward(x[:8]), forward(x[8:])]),
        "bf16 autocast": bf16,
    }
    if onnx_unet.available():
        on_onnx_runtime = onnx_unet.onnx_forward(unet)
        candidates["ONNX Runtime (float32, onnx_unet)"] = lambda: on_onnx_runtime(x, t)
    slow = set() if cpu_speed.has_native_bf16(flags) else {"bf16 autocast"}  # emulated bf16: seconds a call, timed once
    outputs = {name: call().float() for name, call in candidates.items()}  # warm-up, and what each computes
    times: dict[str, list[float]] = {name: [] for name in candidates}
    for round_index in range(repeats * 2):  # interleaved rounds: a change of load hits every candidate alike
        for name, call in candidates.items():
            if name not in slow or round_index == 0:
                times[name] += time_calls(call, repeats=1, warmup=0)
    base = statistics.median(times["eager float32 (no_grad), the yardstick"])
    native = sorted(flags & cpu_speed.BF16_FLAGS) or ["none"]
    table = BenchTable(
        title="CPU forward candidates (UNet2DModel, 16 images) against eager float32, same run",
        columns=["forward", "median", "vs eager fp32", "max |difference|"],
    )
    for name, values in times.items():
        median = statistics.median(values)
        difference = (outputs[name] - reference).abs().max().item()
        table.rows.append([name, ms(median), f"{base / median:.2f}x", f"{difference:.1e}"])
    table.notes.append(
        f"model: {which}; native bfloat16 flags on this CPU: {', '.join(native)}; timed in "
        f"{repeats * 2} interleaved rounds (bf16 once where it is emulated)"
    )
    if onnx_unet.available():
        table.notes.append(
            f"ONNX Runtime: exported once per model (torch.onnx.export, opset {onnx_unet.OPSET}) in "
            f"{on_onnx_runtime.export_seconds:.1f} s, then run by a one-thread InferenceSession on parts of at most "
            f"{onnx_unet.PART_IMAGES} digits, {torch.get_num_threads()} at once (diffusion_core.onnx_unet)"
        )
    table.notes.append(
        "Not in this table: torch.compile (inductor) compiled in ~200 s, reloaded from its FX graph cache in ~70 s "
        "per process and recompiled for each new batch size or thread count, for a forward ~20-25% faster; "
        "OpenVINO 2026.4 (a 59 MB wheel) ran this forward in 140 ms against ONNX Runtime's 126 ms in one quiet run"
    )

    picked = cpu_speed.sampling_forward("cpu")
    label = "eager float32" if picked == PLAIN else f"{picked['runtime']}, {picked['precision']}"
    grid_repeats = 1 if quick else 3
    grids: dict[str, list[float]] = {"plain": [], "picked": []}
    for _ in range(grid_repeats + 1):  # interleaved; the first of each is the warm-up
        for name, forward_choice in (("plain", PLAIN), ("picked", picked)):
            grids[name] += time_calls(lambda c=forward_choice: _grid_png(unet, scheduler, "dpm++", 20, 16, **c), 1, 0)
    plain, fast = (statistics.median(grids[name][1:]) for name in ("plain", "picked"))
    first = statistics.median(_first_record_seconds(unet, scheduler, 16, **picked) for _ in range(repeats))
    pick = BenchTable(
        title="The default grid with the forward the app picks on this CPU, against eager float32",
        columns=["measure", "median", "target", "vs eager fp32"],
    )
    pick.rows.append(["16-image grid, DPM-Solver++ 20, eager float32", f"{plain:.2f} s", "-", "1.00x"])
    pick.rows.append([
        f"16-image grid, DPM-Solver++ 20, picked forward ({label})",
        f"{fast:.2f} s",
        f"< {GRID_TARGET_S:g} s ({'met' if fast < GRID_TARGET_S else 'not met'})",
        f"{plain / fast:.2f}x",
    ])  # fmt: skip
    pick.rows.append([
        f"first streamed record, picked forward ({label})",
        ms(first),
        f"< {FIRST_FRAME_TARGET_S:g} s ({'met' if first < FIRST_FRAME_TARGET_S else 'not met'})",
        "-",
    ])  # fmt: skip
    pick.notes.append(
        "the app runs the bundled model's float32 forward on ONNX Runtime where onnx and onnxruntime are installed "
        "(cpu_speed.forward_runtime), in float32 on every CPU unless $DIFFUSION_EXPLORER_CPU_PRECISION asks for bf16 "
        f"(cpu_speed.forward_precision); grids timed {grid_repeats} times each, interleaved, after a warm-up of each"
    )
    pick.notes.append(f"load average when the table ended: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    tables = [table, pick]
    if not quick and picked != PLAIN:
        tables.append(quality_table(unet, scheduler, picked))
    return tables


PLAIN = {"precision": "fp32", "runtime": "torch"}


QUALITY_N = 512


def quality_table(unet: UNet2DModel, scheduler: DDPMScheduler, picked: dict[str, str]) -> BenchTable:
    """The project's quality evaluation (``metrics.measure``) of ``QUALITY_N`` DPM-Solver++ 20 digits sampled with
    the plain and the picked forward, from the same starting noise (``comparison_lab.generate``, seed 0)."""
    table = BenchTable(
        title=f"Quality of the default sampler with each forward ({QUALITY_N} digits, DPM-Solver++ 20 steps)",
        columns=["forward", "FD (floor)", "confidence", "class balance", "sampling time"],
    )
    images = {}
    for name, forward_choice in (("eager float32 (plain)", PLAIN), ("picked", picked)):
        start = time.perf_counter()
        digits = to_unit_range(comparison_lab.generate(unet, scheduler, "dpm++", 20, QUALITY_N, **forward_choice))
        images[name] = (digits.clamp(0, 1), time.perf_counter() - start)
    for name, (digits, seconds) in images.items():
        report = metrics.measure(digits)
        label = name if name != "picked" else f"picked ({picked['runtime']}, {picked['precision']})"
        table.rows.append([label, f"{report.fd:.2f} ({report.fd_floor:.2f})", f"{report.confidence:.3f}",
                           f"{report.class_balance:.3f}", f"{seconds:.0f} s"])  # fmt: skip
    difference = (images["picked"][0] - images["eager float32 (plain)"][0]).abs().max().item()
    table.notes.append(
        f"the same {QUALITY_N} starting noises both ways; max |difference| of the digits in [0, 1]: {difference:.1e} "
        "(one grey level is 3.9e-3)"
    )
    return table


def run(quick: bool = False) -> list[BenchTable]:
    return cpu_tables(quick) + candidate_tables(quick)
