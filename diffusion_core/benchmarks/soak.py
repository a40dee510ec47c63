"""A day of classes in a few minutes: many sessions one after another, and the server's memory after each.

``python app.py`` runs in a subprocess on a free loopback port. Each session is a new
``gradio_client.Client`` (a new Gradio session) that touches every light tab once, as a learner
clicking through the lesson would: ① ``/corrupt``, ② ``/ddpm_noise``, ③ ``/trace_shapes`` and
``/unet2d_anatomy``, ⑥ ``/quality_loss_t`` (its lightest lesson: 4 images at 5 timesteps), and a
small sampling run in ⑤ (``/mix_sample`` and a streamed ``/ddpm_sample``), submitted together as a
page does. Seeds, amounts, timesteps and input shapes change from session to session, so caches
keyed on them and the CPU allocator see what a class sends, not one request repeated. The server's resident memory (process and children, psutil)
is sampled after every session.

Like the other API suites this module only *drives* the app over HTTP; ``gradio_client`` and
``psutil`` are imported lazily. ``tests/test_soak.py`` runs the same driver and asserts that the
memory levels off; ``bench --only memory`` records the curve in BENCHMARKS.md and a CSV.
"""

from __future__ import annotations

import csv
import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from diffusion_core.benchmarks import BenchTable
from diffusion_core.benchmarks.api import ROOT
from diffusion_core.benchmarks.concurrency import app_process, rss_mib

SESSIONS = 200
WARM_SESSIONS = 50  # growth is measured from here: the first sessions fill caches and warm the allocator
MAX_GROWTH = 0.10  # RSS at SESSIONS may exceed RSS at WARM_SESSIONS by at most this share
CALL_TIMEOUT_S = 120
CURVE_POINTS = (0, 10, 25, 50, 100, 150, 200)
ARTIFACTS = ROOT / "test-artifacts"
SAMPLING_RUNS = ("/mix_sample", "/ddpm_sample")  # a session runs one sampling run at a time (ui.runs)


def session_calls(index: int) -> list[tuple[str, tuple]]:
    """The ``(api_name, args)`` calls of session ``index``: every light tab once and a small sampling run.

    Values vary with ``index`` (seeds, amounts, timesteps, the traced input's size, the sampler) but
    stay within what the widgets allow; the sampling runs are a few steps on a few images.
    """
    lang = ("zh", "en")[index % 2]
    seed = index % 7
    side = 20 + 4 * (index % 4)  # 20..32: a learner trying other image sizes in ③
    sampler = ("ddim", "dpm++", "euler", "ddpm")[index % 4]
    return [
        ("/corrupt", ("mnist", seed, round(0.1 * (index % 10), 1), None, lang)),
        ("/ddpm_noise", ("mnist", seed, None, "linear", 1000, 1e-4, 0.02, 50 * (index % 20), "randn", lang)),
        ("/trace_shapes", ("random", seed, 1 + index % 4, 1, side, side, None, 1, lang)),
        ("/unet2d_anatomy", ("32,64,64", 1 + index % 2, True, 8, 1, side, side, lang)),
        ("/quality_loss_t", (4, 5, seed, lang)),
        ("/mix_sample", (2, 2, seed, lang)),
        ("/ddpm_sample", (sampler, 2, 2, seed, lang)),
    ]


def run_session(url: str, index: int) -> None:
    """One learner: a new ``gradio_client.Client`` (a new session) making :func:`session_calls`."""
    client = importlib.import_module("gradio_client").Client(
        url, verbose=False, download_files=False, httpx_kwargs={"timeout": CALL_TIMEOUT_S}
    )
    try:
        calls = session_calls(index)
        light = [client.submit(*args, api_name=name) for name, args in calls if name not in SAMPLING_RUNS]
        for name, args in calls:  # meanwhile the sampling runs, one after the other as the page allows
            if name in SAMPLING_RUNS:
                client.submit(*args, api_name=name).result(timeout=CALL_TIMEOUT_S)
        for job in light:
            job.result(timeout=CALL_TIMEOUT_S)
    finally:
        client.close()


@dataclass
class SoakResult:
    """The RSS curve of one soak: ``rss_mib[i]`` after ``i`` sessions (``[0]`` is before the first)."""

    rss_mib: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # wall time since the start, per point
    cold_start_s: float = 0.0

    def at(self, sessions: int) -> float:
        return self.rss_mib[min(sessions, len(self.rss_mib) - 1)]

    def growth(self, start: int = WARM_SESSIONS, end: int | None = None) -> float:
        """Relative growth of RSS from ``start`` sessions to ``end`` (the last by default)."""
        end = len(self.rss_mib) - 1 if end is None else end
        return self.at(end) / self.at(start) - 1.0

    def per_session_kib(self, start: int = WARM_SESSIONS, end: int | None = None) -> float:
        end = len(self.rss_mib) - 1 if end is None else end
        return (self.at(end) - self.at(start)) * 1024 / max(1, end - start)

    def write(self, stem: Path) -> None:
        """Write ``stem.csv`` (session, seconds, rss_mib) and ``stem.json`` (the same, plus the summary)."""
        stem.parent.mkdir(parents=True, exist_ok=True)
        with open(stem.with_suffix(".csv"), "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["session", "seconds", "rss_mib"])
            for index, (seconds, rss) in enumerate(zip(self.seconds, self.rss_mib, strict=True)):
                writer.writerow([index, f"{seconds:.1f}", f"{rss:.1f}"])
        summary = {
            "sessions": len(self.rss_mib) - 1,
            "cold_start_s": round(self.cold_start_s, 1),
            "rss_mib": [round(value, 1) for value in self.rss_mib],
            "seconds": [round(value, 1) for value in self.seconds],
        }
        stem.with_suffix(".json").write_text(json.dumps(summary, indent=1))


def soak(
    sessions: int = SESSIONS,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> SoakResult:
    """Start ``python app.py``, run ``sessions`` sessions one after another, sample RSS after each."""
    result = SoakResult()
    with app_process(env=env, log_path=log_path) as app:
        result.cold_start_s = app.cold_start_s
        start = time.monotonic()
        result.rss_mib.append(rss_mib(app.pid))
        result.seconds.append(0.0)
        for index in range(sessions):
            run_session(app.url, index)
            result.rss_mib.append(rss_mib(app.pid))
            result.seconds.append(time.monotonic() - start)
            if progress:
                progress(index + 1, result.rss_mib[-1])
    return result


def curve_row(label: str, result: SoakResult) -> list[str]:
    points = [f"{result.at(n):.0f}" for n in CURVE_POINTS if n < len(result.rss_mib)]
    return [
        label,
        *points,
        f"{result.growth() * 100:+.1f}%",
        f"{result.per_session_kib():.0f} KiB",
        f"{result.seconds[-1]:.0f} s",
    ]


def run(quick: bool = False) -> list[BenchTable]:
    sessions = 60 if quick else SESSIONS
    result = soak(sessions, progress=lambda n, rss: print(f"  session {n}: {rss:.0f} MiB") if n % 25 == 0 else None)
    result.write(ARTIFACTS / "soak")
    points = [n for n in CURVE_POINTS if n <= sessions]
    table = BenchTable(
        title=f"Server memory over {sessions} sessions one after another (RSS, MiB)",
        columns=["run", *[f"after {n}" for n in points], f"growth {WARM_SESSIONS}→{sessions}", "per session", "wall"],
    )
    table.rows.append(curve_row("python app.py", result))
    table.notes.append(
        "Each session is a new gradio_client.Client over loopback calling /corrupt, /ddpm_noise, /trace_shapes, "
        "/unet2d_anatomy, /quality_loss_t (4 images, 5 t), /mix_sample (2 steps, 2 images) and a streamed "
        "/ddpm_sample (2 steps, 2 images), with seeds, amounts, timesteps, input sizes and samplers varying "
        "by session; RSS of the server process and its children (psutil) after each session. "
        f"The test (tests/test_soak.py) requires growth ≤ {MAX_GROWTH:.0%} from session {WARM_SESSIONS} to "
        f"{SESSIONS}. Full curve: test-artifacts/soak.csv."
    )
    return [table]
