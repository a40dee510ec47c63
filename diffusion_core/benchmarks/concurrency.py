"""Many learners at once, measured from the outside: sessions that train and sample together.

``python app.py`` runs in a subprocess; each learner is its own ``gradio_client.Client`` (its
own session). All of them start a tiny training run and a short sampling run at the same
moment; a monitor thread records when every job streamed its first and last update, how many
events waited in Gradio's queue (``/gradio_api/queue/status``) and the server's resident memory
(the process and its children, every 0.2 s). From the job intervals it derives how many runs of
each kind were executing at once, to compare with the app's concurrency limits.

Like ``diffusion_core.benchmarks.api``, this module only *drives* the app over HTTP: the core
package never imports the UI framework (``gradio_client`` and ``psutil`` are imported lazily).
``tests/test_concurrency.py`` runs the same driver and asserts on what it measures.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diffusion_core.benchmarks import BenchTable, percentile
from diffusion_core.benchmarks.api import ROOT, free_port, stop_process, wait_until_serving

SESSIONS = 8
TRAIN_LIMIT = 2  # ui/training_tab/run.py: concurrency_id "train", concurrency_limit 2
SAMPLE_LIMIT = 2  # ui/sampling_tab/__init__.py: concurrency_id "sample", concurrency_limit 2
QUEUE_MAX_SIZE = 64  # app.py: demo.queue(max_size=64)
RSS_LIMIT_MIB = 3 * 1024
# Update times are taken where the client sees them, a few ms to tens of ms after the server
# sent them; an interval is shrunk by this much at both ends before overlaps are counted, so that
# a hand-over (one run ends, the next one starts) is never counted as two runs at once.
OVERLAP_TOLERANCE_S = 0.1


# ----------------------------------------------------------------------------------------------
# The server and its memory
# ----------------------------------------------------------------------------------------------


@dataclass
class AppProcess:
    """A running ``python app.py``."""

    url: str  # ends with "/"
    pid: int
    cold_start_s: float
    log_path: Path | None


@contextlib.contextmanager
def app_process(env: dict[str, str] | None = None, log_path: Path | None = None) -> Iterator[AppProcess]:
    """Start ``python app.py`` on a free port (extra ``env``; stdout/stderr to ``log_path``), stop it after."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    environment = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "OMP_WAIT_POLICY": "PASSIVE",
        **(env or {}),
    }
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(open(log_path, "wb")) if log_path else subprocess.DEVNULL
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            seconds = wait_until_serving(url, process, timeout=240)
            yield AppProcess(url=url, pid=process.pid, cold_start_s=seconds, log_path=log_path)
        finally:
            stop_process(process)


def rss_mib(pid: int) -> float:
    """Resident memory of a process and all its children, in MiB."""
    psutil = importlib.import_module("psutil")
    parent = psutil.Process(pid)
    total = 0
    for process in [parent, *parent.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total / 2**20


class RssSampler:
    """Sample :func:`rss_mib` of ``pid`` every ``interval`` seconds in a thread while in a ``with`` block."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, float]] = []  # (seconds since start, MiB)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        while True:
            with contextlib.suppress(Exception):
                self.samples.append((time.monotonic() - start, rss_mib(self.pid)))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(Exception):
            self.samples.append((self.samples[-1][0] if self.samples else 0.0, rss_mib(self.pid)))

    @property
    def peak(self) -> float:
        return max((mib for _, mib in self.samples), default=float("nan"))

    @property
    def first(self) -> float:
        return self.samples[0][1] if self.samples else float("nan")

    @property
    def last(self) -> float:
        return self.samples[-1][1] if self.samples else float("nan")


def queue_size(url: str) -> int:
    """Events waiting in the app's queue now (all concurrency ids; running ones not counted)."""
    with urllib.request.urlopen(url + "gradio_api/queue/status", timeout=10) as response:
        return int(json.load(response)["queue_size"])


def client_for(url: str):
    """A ``gradio_client.Client`` (a new session) that leaves files on the server (no downloads)."""
    client_class = importlib.import_module("gradio_client").Client
    return client_class(url, verbose=False, download_files=False, analytics_enabled=False)


def fetch(url: str, file_data: Any) -> bytes:
    """The bytes of a file output (a FileData dict of a ``download_files=False`` client)."""
    file_url = file_data["url"] if isinstance(file_data, dict) else str(file_data)
    if not file_url.startswith("http"):
        file_url = url + "gradio_api/file=" + file_url
    with urllib.request.urlopen(file_url, timeout=60) as response:
        return response.read()


# ----------------------------------------------------------------------------------------------
# The load: every session trains and samples at once
# ----------------------------------------------------------------------------------------------


def train_args(steps: int, batch: int, seed: int) -> tuple:
    """Arguments of ``/train``: BasicUNet on MNIST, the three rows refreshed only at the end (or every 500 steps)."""
    return ("basic", "mnist", None, False, steps, batch, 1e-3, seed, min(steps, 500), False, "en")


def sample_args(steps: int, batch: int, seed: int) -> tuple:
    """Arguments of ``/mix_sample``: the tutorial's few-step sampler."""
    return (steps, batch, seed, "en")


@dataclass
class JobTrace:
    """What the client saw of one job (times in seconds since the common submit moment)."""

    session: int
    kind: str  # "train" or "sample"
    job: Any = field(repr=False)
    first_output: float | None = None
    last_output: float | None = None
    done: float | None = None
    outputs: int = 0
    error: str | None = None

    def interval(self, tolerance: float = OVERLAP_TOLERANCE_S) -> tuple[float, float] | None:
        """(start, end) of the streaming, shrunk by ``tolerance`` at both ends; None if too short."""
        if self.first_output is None or self.last_output is None:
            return None
        start, end = self.first_output + tolerance, self.last_output - tolerance
        return (start, end) if end > start else None


def max_overlap(intervals: Sequence[tuple[float, float] | None]) -> int:
    """The largest number of open intervals at one instant (touching ends do not overlap)."""
    events = sorted(
        [(start, 1) for start, _ in filter(None, intervals)] + [(end, -1) for _, end in filter(None, intervals)],
        key=lambda item: (item[0], item[1]),  # an end before a start at the same instant
    )
    running = best = 0
    for _, step in events:
        running += step
        best = max(best, running)
    return best


@dataclass
class LoadRun:
    """The outcome of :func:`run_sessions`: the clients (still open) and what was measured."""

    clients: list[Any] = field(repr=False)
    traces: list[JobTrace]
    wall_s: float
    queue_sizes: list[int]

    def of(self, kind: str) -> list[JobTrace]:
        return [trace for trace in self.traces if trace.kind == kind]

    def max_concurrent(self, kind: str, tolerance: float = OVERLAP_TOLERANCE_S) -> int:
        return max_overlap([trace.interval(tolerance) for trace in self.of(kind)])

    def latencies(self, kind: str) -> list[float]:
        return [trace.done for trace in self.of(kind) if trace.done is not None]

    def errors(self) -> list[str]:
        return [f"session {t.session} {t.kind}: {t.error}" for t in self.traces if t.error]

    def close(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                client.close()

    def figures(self) -> dict[str, Any]:
        """JSON-ready numbers for the release note."""

        def summary(values: list[float]) -> dict[str, float]:
            if not values:
                return {}
            return {
                "min_s": round(min(values), 2),
                "p50_s": round(statistics.median(values), 2),
                "p95_s": round(percentile(values, 95), 2),
                "max_s": round(max(values), 2),
            }

        done = {(t.session, t.kind): round(t.done, 2) for t in self.traces if t.done is not None}
        return {
            "sessions": len(self.clients),
            "wall_s": round(self.wall_s, 2),
            "train_latency": summary(self.latencies("train")),
            "sample_latency": summary(self.latencies("sample")),
            "per_session_s": [
                {"session": index, "train_s": done.get((index, "train")), "sample_s": done.get((index, "sample"))}
                for index in range(len(self.clients))
            ],
            "max_concurrent_train": self.max_concurrent("train"),
            "max_concurrent_sample": self.max_concurrent("sample"),
            "train_limit": TRAIN_LIMIT,
            "sample_limit": SAMPLE_LIMIT,
            "max_queue_size": max(self.queue_sizes, default=0),
            "queue_max_size": QUEUE_MAX_SIZE,
            "errors": self.errors(),
        }


def _watch(traces: list[JobTrace], start: float, url: str, timeout: float, queue_sizes: list[int]) -> None:
    """Poll every job every 10 ms (and the queue every 0.2 s) until all are done or ``timeout``."""
    next_queue_poll = 0.0
    while True:
        now = time.monotonic() - start
        pending = 0
        for trace in traces:
            if trace.done is not None:
                continue
            count = len(trace.job.outputs())
            if count > trace.outputs:
                trace.outputs = count
                trace.first_output = now if trace.first_output is None else trace.first_output
                trace.last_output = now
            if trace.job.done():
                count = len(trace.job.outputs())
                if count > trace.outputs:  # the last update landed with the end
                    trace.outputs, trace.last_output = count, now
                    trace.first_output = now if trace.first_output is None else trace.first_output
                trace.done = now
                exception = trace.job.exception()
                trace.error = None if exception is None else f"{type(exception).__name__}: {exception}"
            else:
                pending += 1
        if now >= next_queue_poll:
            with contextlib.suppress(Exception):
                queue_sizes.append(queue_size(url))
            next_queue_poll = now + 0.2
        if not pending:
            return
        if now > timeout:
            for trace in traces:
                if trace.done is None:
                    trace.error = f"not done after {timeout:.0f} s"
                    trace.job.cancel()
            return
        time.sleep(0.01)


def run_sessions(
    url: str,
    sessions: int = SESSIONS,
    train_steps: int = 10,
    train_batch: int = 16,
    sample_steps: int = 5,
    sample_batch: int = 4,
    timeout: float = 600.0,
) -> LoadRun:
    """Open ``sessions`` clients; each submits ``/train`` and ``/mix_sample`` at the same moment.

    Session ``i`` trains with seed ``i``, so every session ends with different weights. The
    clients are returned open (the caller may keep using them; call ``LoadRun.close``).
    """
    clients: list[Any] = [None] * sessions

    def connect(index: int) -> None:
        clients[index] = client_for(url)

    threads = [threading.Thread(target=connect, args=(index,)) for index in range(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if any(client is None for client in clients):
        raise RuntimeError("could not connect every session")

    traces: list[JobTrace] = []
    queue_sizes: list[int] = []
    start = time.monotonic()
    for index, client in enumerate(clients):
        train = client.submit(*train_args(train_steps, train_batch, seed=index), api_name="/train")
        sample = client.submit(*sample_args(sample_steps, sample_batch, seed=index), api_name="/mix_sample")
        traces += [JobTrace(index, "train", train), JobTrace(index, "sample", sample)]
    _watch(traces, start, url, timeout, queue_sizes)
    return LoadRun(clients=clients, traces=traces, wall_s=time.monotonic() - start, queue_sizes=queue_sizes)


# ----------------------------------------------------------------------------------------------
# The benchmark suite
# ----------------------------------------------------------------------------------------------


def run(quick: bool = False) -> list[BenchTable]:
    """``python -m diffusion_core bench --only concurrency``: 8 sessions at once against ``python app.py``."""
    with app_process() as app:
        time.sleep(2.0)  # let the freshly started server settle before the idle reading
        idle = rss_mib(app.pid)
        with RssSampler(app.pid) as rss:
            load = run_sessions(app.url)
        try:
            figures = load.figures()
        finally:
            load.close()
    train, sample = figures["train_latency"], figures["sample_latency"]
    table = BenchTable(
        title=f"{SESSIONS} sessions train and sample at once (python app.py, gradio_client)",
        columns=["measure", "value", "limit / target"],
        rows=[
            ["wall time until every job of every session is done", f"{figures['wall_s']:.1f} s", "—"],
            ["per-session training latency p50 / max (10 steps, batch 16)",
             f"{train.get('p50_s', float('nan')):.1f} s / {train.get('max_s', float('nan')):.1f} s", "—"],
            ["per-session sampling latency p50 / max (5 steps, batch 4)",
             f"{sample.get('p50_s', float('nan')):.1f} s / {sample.get('max_s', float('nan')):.1f} s", "—"],
            ["most training runs streaming at once", str(figures["max_concurrent_train"]), f"≤ {TRAIN_LIMIT}"],
            ["most sampling runs streaming at once", str(figures["max_concurrent_sample"]), f"≤ {SAMPLE_LIMIT}"],
            ["most events waiting in the queue", str(figures["max_queue_size"]), f"≤ {QUEUE_MAX_SIZE}"],
            ["errors", str(len(figures["errors"])), "0"],
            ["server RSS: idle → peak during the load", f"{idle:.0f} MiB → {rss.peak:.0f} MiB",
             f"< {RSS_LIMIT_MIB} MiB"],
        ],
    )  # fmt: skip
    table.notes.append(
        f"Each session is its own gradio_client.Client; all {2 * SESSIONS} jobs are submitted within a few ms. "
        "RSS is the server process and its children, sampled every 0.2 s. Runs at once are counted from the "
        f"times the clients saw each job's first and last streamed update (shrunk by {OVERLAP_TOLERANCE_S * 1000:.0f} ms)."
    )
    return [table]
