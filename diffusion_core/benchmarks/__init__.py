"""Benchmark suites for ``python -m diffusion_core bench``: one module per area.

Each module defines ``run(quick: bool) -> list[BenchTable]`` and is listed in ``SUITES``.
Every table reports ratios against the plain (seed) way measured in the same run.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

# name -> module; a module that does not exist yet is skipped
SUITES: dict[str, str] = {
    "forward": "diffusion_core.benchmarks.forward",  # corrupt / ddpm_noise core and API latency, cold start
    "startup": "diffusion_core.benchmarks.startup",  # cold start lazy vs eager imports, idle RSS, the first calls
    "tracing": "diffusion_core.benchmarks.tracing",
    "training": "diffusion_core.benchmarks.training",
    "sampling": "diffusion_core.benchmarks.sampling",  # what a learner waits for on the CPU
    "gpu_sampling": "diffusion_core.benchmarks.gpu_sampling",  # 1000 DDPM steps: CUDA graph vs diffusers loop
    "concurrency": "diffusion_core.benchmarks.concurrency",  # 8 sessions at once: limits, latency, peak RSS
    "language": "diffusion_core.benchmarks.language",  # first paint of ?lang= and the switch, in Chromium
    "browser_sampling": "diffusion_core.benchmarks.browser_sampling",  # section B's default run: Chromium vs client
    "memory": "diffusion_core.benchmarks.soak",  # 200 sessions one after another: the server's RSS curve
    "classroom": "diffusion_core.benchmarks.classroom",  # 30 at once: 25 scrub the forward sliders, 5 sample
    "scrub": "diffusion_core.benchmarks.scrub",  # forward sliders in Chromium: keydown to frame drawn, before/after
}


@dataclass
class BenchTable:
    """One table of BENCHMARKS.md."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_markdown(self) -> str:
        lines = [f"### {self.title}", "", f"Machine: {machine_description()}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "---|" * len(self.columns))
        lines.extend("| " + " | ".join(str(cell) for cell in row) + " |" for row in self.rows)
        if self.notes:
            lines.append("")
            lines.extend(f"- {note}" for note in self.notes)
        return "\n".join(lines) + "\n"


def machine_description() -> str:
    """A one-line description of this machine: CPU (with its widest vector instructions), cores, GPU, torch.

    Two machines can share a model name ("AMD EPYC") and differ in what matters here: AVX2 only, or AVX-512
    with native bfloat16 (``avx512_bf16``/``amx_bf16``; see ``diffusion_core.cpu_speed``).
    """
    from diffusion_core.cpu_speed import BF16_FLAGS, cpu_flags

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    flags = cpu_flags()
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else ""
    bf16 = sorted(flags & BF16_FLAGS)
    if vector:
        cpu += f" ({vector}{', native bf16: ' + ', '.join(bf16) if bf16 else ', no native bf16'})"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}, torch {torch.__version__}"


def time_calls(fn: Callable[[], object], repeats: int, warmup: int = 2, sync_cuda: bool = False) -> list[float]:
    """Call ``fn`` ``warmup + repeats`` times; return the last ``repeats`` wall times in seconds."""
    times = []
    for index in range(warmup + repeats):
        if sync_cuda and torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if sync_cuda and torch.cuda.is_available():
            torch.cuda.synchronize()
        if index >= warmup:
            times.append(time.perf_counter() - start)
    return times


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of ``values`` (linear interpolation)."""
    if len(values) == 1:
        return values[0]
    return (
        statistics.quantiles(sorted(values), n=100, method="inclusive")[int(q) - 1]
        if 1 <= q <= 99
        else (min(values) if q < 1 else max(values))
    )


def ms(seconds: float) -> str:
    """Format seconds as milliseconds with one decimal."""
    return f"{seconds * 1000:.1f} ms"
