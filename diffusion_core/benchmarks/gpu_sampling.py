"""Sampling on a GPU: 1000 DDPM steps at batch 8, the CUDA-graph fast path against the diffusers loop.

The same model (the bundled checkpoint when present) runs through diffusers' ``DDPMPipeline``
(the yardstick), through ``sampling.scheduler_sample`` step by step, and through its fast path,
which replays the UNet forward as one CUDA graph (the capture is inside the timed call). Target
(issue "Digits, not blobs"): >= 15x the diffusers loop (the old target was 6x). Without CUDA the
suite writes a table that says it was skipped.
"""

from __future__ import annotations

import statistics

import torch
from diffusers import DDPMPipeline, DDPMScheduler

from diffusion_core import sampling
from diffusion_core.benchmarks import BenchTable, time_calls
from diffusion_core.benchmarks.sampling import bundled_or_fresh_model

GPU_SPEEDUP_TARGET = 15.0
STEPS, BATCH = 1000, 8
TITLE = f"GPU: {STEPS} DDPM steps at batch {BATCH}, fast path vs the diffusers loop"


def gpu_tables(quick: bool) -> list[BenchTable]:
    device = "cuda"
    unet, scheduler, which = bundled_or_fresh_model(device)
    repeats = 1 if quick else 3

    def diffusers_loop() -> None:
        pipeline = DDPMPipeline(unet=unet, scheduler=DDPMScheduler.from_config(scheduler.config))
        pipeline.set_progress_bar_config(disable=True)
        pipeline(batch_size=BATCH, generator=torch.Generator().manual_seed(0), num_inference_steps=STEPS,
                 output_type="pt")  # fmt: skip

    def ours(fast: bool) -> torch.Tensor:
        generator = torch.Generator().manual_seed(0)
        records = sampling.scheduler_sample(unet, scheduler, "ddpm", STEPS, BATCH, generator=generator, fast=fast)
        return sampling.final_sample(records)

    times = {
        "diffusers DDPMPipeline loop": time_calls(diffusers_loop, repeats, warmup=1, sync_cuda=True),
        "plain scheduler_sample loop": time_calls(lambda: ours(False), repeats, warmup=1, sync_cuda=True),
        "fast path (CUDA graph, capture included)": time_calls(lambda: ours(True), repeats, warmup=1, sync_cuda=True),
    }
    difference = (ours(True) - ours(False)).abs().max().item()
    base = statistics.median(times["diffusers DDPMPipeline loop"])
    table = BenchTable(
        title=TITLE,
        columns=["loop", "median", "speed-up vs diffusers"],
    )
    for name, values in times.items():
        median = statistics.median(values)
        table.rows.append([name, f"{median:.2f} s", f"{base / median:.1f}x"])
    fast = statistics.median(times["fast path (CUDA graph, capture included)"])
    table.notes.append(
        f"model: {which}; target >= {GPU_SPEEDUP_TARGET:g}x: {'met' if base / fast >= GPU_SPEEDUP_TARGET else 'not met'}"
    )
    table.notes.append(
        f"fast vs plain final image: max |difference| = {difference:.2e} (tolerance {sampling.FAST_PATH_ATOL:g})"
    )
    return [table]


def run(quick: bool = False) -> list[BenchTable]:
    if torch.cuda.is_available():
        return gpu_tables(quick)
    return [BenchTable(title=TITLE, columns=["loop", "median", "speed-up vs diffusers"],
                       notes=["skipped: no CUDA GPU on this machine"])]  # fmt: skip
