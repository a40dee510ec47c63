"""Benchmarks of the forward-process lessons: corrupt and ddpm_noise, cold start, idle memory.

* core: the tensor work of one slider move (data -> noise -> mix -> image grid), target <= 20 ms;
  beside it the tutorial's way of drawing the same figure (matplotlib ``imshow`` of a ``make_grid``),
  measured in the same run, as the plain reference.
* API: p50/p95 of ``/corrupt`` and ``/ddpm_noise`` through gradio_client against a no-op Gradio
  endpoint (the framework's floor), target <= 50 ms added at p95.
* cold start: ``python app.py`` until the page is served, target < 10 s; idle RSS, target < 1.5 GB.
"""

from __future__ import annotations

import io

import torch

from diffusion_core.benchmarks import BenchTable, ms, percentile, time_calls
from diffusion_core.benchmarks.api import app_server, latency_table, noop_server
from diffusion_core.corruption import corrupt
from diffusion_core.data import mnist_batch, to_model_range
from diffusion_core.figures import to_image
from diffusion_core.noising import add_noise, make_scheduler, seed_timesteps


def _core_corrupt() -> None:
    x, _ = mnist_batch(8, seed=1)
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(1))
    mixed = corrupt(x, 0.3, noise=noise)
    strip = corrupt(x, torch.linspace(0, 1, 8), noise=noise)
    for image in (to_image(mixed[0], scale=12), to_image(x, scale=3), to_image(strip, scale=3)):
        image.tobytes()


def _core_ddpm_noise() -> None:
    x0 = to_model_range(mnist_batch(8, seed=1)[0])
    scheduler = make_scheduler()
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1))
    strip, _ = add_noise(x0, seed_timesteps(), scheduler, noise=noise)
    x_t, _ = add_noise(x0, 500, scheduler, noise=noise)
    for image in (to_image(x_t[0], (-1, 1), scale=12), to_image(strip, (-1, 1), scale=3)):
        image.tobytes()
    to_image(strip, clip=False, scale=3).tobytes()


def _seed_matplotlib_figure() -> None:
    """The tutorial's way: two matplotlib imshow rows of make_grid, rendered to PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torchvision

    x, _ = mnist_batch(8, seed=1)
    fig, axs = plt.subplots(2, 1, figsize=(12, 5))
    axs[0].imshow(torchvision.utils.make_grid(x)[0], cmap="Greys")
    axs[1].imshow(torchvision.utils.make_grid(corrupt(x, torch.linspace(0, 1, 8)))[0], cmap="Greys")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)


def _rss_of(pid: int) -> float:
    """Resident memory of a process in MiB (Linux /proc)."""
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(quick: bool = False) -> list[BenchTable]:
    repeats = 10 if quick else 50
    core = BenchTable(
        title="Forward lessons: core work of one slider move (CPU)",
        columns=["operation", "p50", "p95", "target"],
    )
    for name, fn in (("corrupt: 8 digits -> mix -> 3 image grids", _core_corrupt),
                     ("ddpm_noise: add_noise strip + single -> 4 image grids", _core_ddpm_noise)):  # fmt: skip
        times = time_calls(fn, repeats)
        core.rows.append([name, ms(percentile(times, 50)), ms(percentile(times, 95)), "≤ 20 ms"])
    try:
        seed_times = time_calls(_seed_matplotlib_figure, max(3, repeats // 10), warmup=1)
        core.rows.append(["(plain reference) the tutorial's matplotlib figure -> PNG", ms(percentile(seed_times, 50)),
                          ms(percentile(seed_times, 95)), "—"])  # fmt: skip
    except ImportError:
        core.notes.append("matplotlib is not installed: the tutorial's figure reference was skipped.")

    with noop_server() as noop_url, app_server() as (app_url, cold_start):
        api = latency_table(
            "Forward lessons through the real API (gradio_client)",
            app_url,
            noop_url,
            [
                ("/corrupt", ("mnist", 0, 0.3, None, "en")),
                ("/ddpm_noise", ("mnist", 0, None, "linear", 1000, 1e-4, 0.02, 500, "randn", "en")),
            ],
            repeats=repeats,
            target_added_ms=50,
        )
    with app_server() as (_, cold_again):
        import psutil  # a test extra: only the benchmark needs it

        server = [p for p in psutil.Process().children(recursive=True) if "app.py" in " ".join(p.cmdline())]
        idle_rss = _rss_of(server[0].pid) if server else float("nan")
    start = BenchTable(
        title="Cold start and idle memory (python app.py)",
        columns=["measure", "value", "target"],
        rows=[
            ["cold start to the page being served (2 runs)", f"{cold_start:.1f} s, {cold_again:.1f} s", "< 10 s"],
            ["idle RSS of the server after start", f"{idle_rss:.0f} MiB", "< 1.5 GB"],
        ],
    )
    return [core, api, start]
