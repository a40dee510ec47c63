"""Measure the app from the outside, like a user: cold start and API latency over HTTP.

The app runs in a subprocess (``python app.py``); a second subprocess serves the trivial no-op
Gradio endpoint of ``ui/noop_app.py``, which is Gradio's own floor for a round trip on this machine. Latencies are
reported as p50/p95 and as "added above the floor" (the handler's own cost).

The engine never imports the UI framework: this module only *drives* servers through the
``gradio_client`` HTTP client, imported lazily by name so that the core stays importable
without it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from diffusion_core.benchmarks import BenchTable, ms, percentile

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 120.0) -> float:
    """Poll ``url`` until it answers 200; return the seconds waited. Raises if the process dies."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before serving {url}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return time.perf_counter() - start
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@contextlib.contextmanager
def serve(command: Sequence[str], port: int, env: dict[str, str] | None = None) -> Iterator[tuple[str, float]]:
    """Start a server subprocess; yield ``(url, seconds until the page was served)``; stop it after."""
    url = f"http://127.0.0.1:{port}/"
    environment = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), **(env or {})}
    environment.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    process = subprocess.Popen(
        list(command), cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        seconds = wait_until_serving(url, process)
        yield url, seconds
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a server process, and kill it if it has not exited after 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@contextlib.contextmanager
def app_server() -> Iterator[tuple[str, float]]:
    """The real app, started as a user would (``python app.py``); yields (url, cold start seconds)."""
    with serve([sys.executable, "app.py"], free_port()) as served:
        yield served


@contextlib.contextmanager
def noop_server() -> Iterator[str]:
    """The no-op Gradio endpoint ``/noop`` of ``ui/noop_app.py``: the framework's own round-trip floor."""
    port = free_port()
    with serve([sys.executable, "-m", "ui.noop_app", str(port)], port) as (url, _):
        yield url


def client_for(url: str, download_files: bool = True):
    """A ``gradio_client.Client`` on ``url`` (imported lazily: the core never needs it).

    ``download_files=False`` leaves output files (images) on the server as URLs, as a browser
    receives them before it fetches the images in parallel; by default the client downloads every
    output file one after another, each through a new HTTP client.
    """
    return importlib.import_module("gradio_client").Client(url, verbose=False, download_files=download_files)


def time_predict(client, api_name: str, args: tuple, repeats: int, warmup: int = 3) -> list[float]:
    """Wall times (s) of ``client.predict(*args, api_name=...)`` after ``warmup`` calls."""
    times = []
    for index in range(warmup + repeats):
        start = time.perf_counter()
        client.predict(*args, api_name=api_name)
        if index >= warmup:
            times.append(time.perf_counter() - start)
    return times


def latency_table(
    title: str,
    app_url: str,
    noop_url: str,
    calls: Sequence[tuple[str, tuple]],
    repeats: int,
    target_added_ms: float,
) -> BenchTable:
    """Time each ``(api_name, args)`` on the app, alternating call by call with the no-op floor.

    Returns a table with p50/p95 per endpoint, the floor, the p95 added above the floor and
    whether it meets ``target_added_ms``.
    """
    noop_client = client_for(noop_url)
    clients = {"": client_for(app_url), " (files left as URLs)": client_for(app_url, download_files=False)}
    rows: list[tuple[str, list[float]]] = []
    floor: list[float] = []
    for api_name, args in calls:
        for label, client in clients.items():
            for _ in range(3):  # warm-up
                client.predict(*args, api_name=api_name)
            times = []
            for _ in range(repeats):  # alternate with the floor, so both see the same machine load
                times += time_predict(client, api_name, args, 1, warmup=0)
                floor += time_predict(noop_client, "/noop", (1,), 1, warmup=0)
            rows.append((api_name + label, times))
    table = BenchTable(
        title=title,
        columns=["endpoint", "p50", "p95", "no-op floor p95", "added at p95", f"target ≤ {target_added_ms:g} ms"],
    )
    floor_p95 = percentile(floor, 95)
    table.rows.append(["/noop (Gradio floor)", ms(percentile(floor, 50)), ms(floor_p95), "—", "—", "—"])
    for name, times in rows:
        added = percentile(times, 95) - floor_p95
        table.rows.append(
            [
                name,
                ms(percentile(times, 50)),
                ms(percentile(times, 95)),
                ms(floor_p95),
                ms(added),
                "yes" if added * 1000 <= target_added_ms else "NO",
            ]
        )
    table.notes.append(
        f"{repeats} calls each through gradio_client after 3 warm-up calls; app and no-op server run as "
        "separate processes on the same machine in the same run. Plain rows: the client also downloads "
        "every output image, one after another, each through a new HTTPS-capable httpx client (~30-50 ms "
        "each here); '(files left as URLs)' rows: the full server round trip (validation, handler, "
        "encoding, cache write) without those downloads, which is what a browser waits for before it "
        "fetches the images in parallel."
    )
    return table
