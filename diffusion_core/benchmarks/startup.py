"""Cold start: ``python app.py`` until the page is served, idle memory, and what the first actions then cost.

Three ways to start, measured in the same run on the same machine:

* **lazy** (the app as shipped): diffusers and torchvision are imported when first used, and in a background
  thread once the page is served (``diffusion_core.lazy_imports``); target < 10 s to the page;
* **lazy, no warm-up** (``DIFFUSION_EXPLORER_WARM_UP=0``): the first action that needs them imports them;
* **eager** (the plain reference, the import path before this work): the same app started by a Python that
  imports gradio as it comes (with its ``.pyi`` stub writer, see ``ui.gradio_import``), then diffusers and
  torchvision (``import_deferred()``), then runs ``app.py``.

After each start, the first calls a visitor's page makes are sent through gradio_client (files left as URLs,
as a browser gets them): at once ``/corruption_frames`` (the first tab's digit and noisy row, which the page
draws itself; it does not wait for the deferred import), ``/corrupt`` (the same tab's strips and histogram,
which need torchvision) and ``/ddpm_noise`` (opening tab ②, the first view that needs diffusers), which race
the warm-up; then, once the warm-up is
done, ``/unet2d_anatomy`` (opening tab ③: a first trace of UNet2DModel); target < 2 s each. Idle RSS is the
server's resident memory once the warm-up is done (target: at most the eager start's).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from diffusion_core.benchmarks import BenchTable
from diffusion_core.benchmarks.api import ROOT, free_port, stop_process, wait_until_serving
from diffusion_core.benchmarks.concurrency import rss_mib

WARM_UP_LINE = "imported diffusers and torchvision in the background"
EAGER_COMMAND = (
    "import gradio; from diffusion_core.lazy_imports import import_deferred; import_deferred(); "
    "import runpy; runpy.run_path('app.py', run_name='__main__')"
)
FRAMES_ARGS = ("mnist", 0, 0.3, None)
CORRUPT_ARGS = ("mnist", 0, 0.3, None, "en")
DDPM_NOISE_ARGS = ("mnist", 0, None, "linear", 1000, 1e-4, 0.02, 250, "randn", "en")
ANATOMY_ARGS = ("32,64,64", 2, True, 8, 1, 28, 28, "en")


@dataclass
class Start:
    """One cold start: seconds to the page, the first calls (s), idle RSS (MiB), the warm-up (s, or None)."""

    served_s: float
    frames_s: float
    corrupt_s: float
    ddpm_noise_s: float
    anatomy_s: float
    idle_rss_mib: float
    warm_up_s: float | None


@contextlib.contextmanager
def _server(command: list[str], env: dict[str, str], log: Path) -> Iterator[tuple[str, int, float]]:
    """Start ``command`` in the repository as the app server; yield (url, pid, seconds until ``/`` answered)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    environment = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
                   "GRADIO_ANALYTICS_ENABLED": "False", **env}  # fmt: skip
    with open(log, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_until_serving(url, process, timeout=300)
            yield url, process.pid, time.perf_counter() - start
        finally:
            stop_process(process)


def _timed(client, api_name: str, args: tuple) -> float:
    start = time.perf_counter()
    client.predict(*args, api_name=api_name)
    return time.perf_counter() - start


def _warm_up_seconds(log: Path, timeout: float = 300) -> float | None:
    """Wait for the warm-up's log line; return the seconds it reports, or None if it never came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if WARM_UP_LINE in line:
                return float(line.rsplit(" in ", 1)[1].split()[0])
        time.sleep(0.5)
    return None


def cold_start(mode: str, folder: Path) -> Start:
    """Start the app in ``mode`` ("lazy", "no warm-up" or "eager"), send the two first calls, measure idle RSS."""
    command = [sys.executable, "-c", EAGER_COMMAND] if mode == "eager" else [sys.executable, "app.py"]
    env = {"DIFFUSION_EXPLORER_WARM_UP": "0"} if mode == "no warm-up" else {}
    log = folder / f"{mode.replace(' ', '-')}-{time.monotonic_ns()}.log"
    with _server(command, env, log) as (url, pid, served):
        # what the page fetches first: its config; files left as URLs; a first call may wait long on a busy machine
        client = importlib.import_module("gradio_client").Client(
            url, verbose=False, download_files=False, httpx_kwargs={"timeout": 600}
        )
        frames = _timed(client, "/corruption_frames", FRAMES_ARGS)
        corrupt = _timed(client, "/corrupt", CORRUPT_ARGS)
        ddpm_noise = _timed(client, "/ddpm_noise", DDPM_NOISE_ARGS)
        warm_up = _warm_up_seconds(log) if mode == "lazy" else None
        anatomy = _timed(client, "/unet2d_anatomy", ANATOMY_ARGS)  # a first action once the imports are done
        time.sleep(2)  # let the last call's memory settle
        rss = rss_mib(pid)
    return Start(served, frames, corrupt, ddpm_noise, anatomy, rss, warm_up)


def _median(starts: list[Start], name: str) -> float:
    return statistics.median(getattr(start, name) for start in starts)


def _seconds(starts: list[Start], name: str) -> str:
    values = [getattr(start, name) for start in starts if getattr(start, name) is not None]
    if not values:
        return "—"
    return ", ".join(f"{value:.1f}" for value in values) + " s" + (f" (median {statistics.median(values):.1f})"
                                                                   if len(values) > 1 else "")  # fmt: skip


def run(quick: bool = False) -> list[BenchTable]:
    eager_runs = 1 if quick else 3
    with TemporaryDirectory(prefix="startup-bench-") as tmp:
        folder = Path(tmp)
        lazy, eager, cold_import = [], [], []
        for index in range(3):  # alternate, so both see the same machine load
            lazy.append(cold_start("lazy", folder))
            if index < eager_runs:
                eager.append(cold_start("eager", folder))
        cold_import.append(cold_start("no warm-up", folder))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    speed_up = _median(eager, "served_s") / _median(lazy, "served_s")
    rows = [
        ["start until GET / answers", _seconds(lazy, "served_s"), _seconds(cold_import, "served_s"),
         _seconds(eager, "served_s"), "< 10 s"],
        ["  eager ÷ lazy (medians)", f"{speed_up:.2f}x faster", "—", "1.00x", "—"],
        ["first /corruption_frames (the page's first picture: digit and noisy row), sent when served",
         _seconds(lazy, "frames_s"), _seconds(cold_import, "frames_s"), _seconds(eager, "frames_s"), "< 2 s"],
        ["then /corrupt (tab ①'s strips, histogram, code: needs torchvision)", _seconds(lazy, "corrupt_s"),
         _seconds(cold_import, "corrupt_s"), _seconds(eager, "corrupt_s"), "< 2 s"],
        ["then /ddpm_noise (tab ②, needs diffusers)", _seconds(lazy, "ddpm_noise_s"),
         _seconds(cold_import, "ddpm_noise_s"), _seconds(eager, "ddpm_noise_s"), "< 2 s"],
        ["then, after the warm-up, a first /unet2d_anatomy (tab ③)", _seconds(lazy, "anatomy_s"),
         _seconds(cold_import, "anatomy_s"), _seconds(eager, "anatomy_s"), "< 2 s"],
        ["background import of diffusers + torchvision (from the log)", _seconds(lazy, "warm_up_s"), "—", "—",
         "—"],
        ["idle RSS of the server after those calls (and the warm-up)",
         f"{_median(lazy, 'idle_rss_mib'):.0f} MiB", f"{_median(cold_import, 'idle_rss_mib'):.0f} MiB",
         f"{_median(eager, 'idle_rss_mib'):.0f} MiB", "≤ eager"],
    ]  # fmt: skip
    table = BenchTable(
        title="Cold start: python app.py until the page is served, idle memory, the first calls",
        columns=["measure", "lazy (as shipped)", "lazy, no warm-up", "eager imports (plain)", "target"],
        rows=rows,
        notes=[
            f"Load average at the end of the run: {load:.1f} (2 cores: figures above ~1 are slowed by other work).",
            "Eager: the same code started by `python -c \"import gradio; import_deferred(); runpy.run_path('app.py')\"`, "
            "i.e. gradio imported with its .pyi stub writer (ui/gradio_import.py), then diffusers and torchvision, "
            "before the app, as every import was before the lazy start; it does "
            "not redo the views the tab builders used to compute at build time (tracing, model runs), so the old "
            "start was slower than this column.",
            "The first three calls go one after the other right after `/` answers, through one gradio_client (its "
            "config fetch is not timed), with files left as URLs; with the warm-up they race the background import.",
        ],
    )
    return [table]
