"""A fair share of one shared server: one run of each kind per session, a wall-clock cap, Stop, honest estimates.

Every long run (training, sampling, the live quality recompute) goes through ``heavy_run``:

1. a session (``gr.Request.session_hash``) holds at most one training and one sampling run (so never
   two slots of one concurrency pool): a second start of the same kind is refused and names the one that runs;
2. ``run.admit(estimate)``: the estimate (``diffusion_core.estimates``, measured on this machine) is
   compared with the cap (``$DIFFUSION_EXPLORER_MAX_RUN_SECONDS``, 10 minutes by default); a run
   predicted to take longer is refused with the estimate in the message;
3. the run's loop asks ``run.stop_reason()`` after every step: ``"stop"`` after the session's Stop
   button of that kind (``stop_handler``), ``"cap"`` once the run reaches the cap. Either way the run
   ends cleanly and keeps what it made so far.

``waiting_status`` is the status a run's button writes at once, before the queued run starts:
Gradio shows the place in the queue on the outputs; the status says the run is waiting for it.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from diffusion_core.estimates import Estimate, over_cap, run_cap_seconds
from ui.i18n import normalize_language, pick
from ui.lazy_views import uses_no_deferred_module

KINDS = ("train", "sample")  # a Stop button stops the session's run of its kind
STALE_AFTER_CAP_S = 60.0  # a run still registered this long after its cap was abandoned: its slot is free

TEXT = {
    "stop": {"zh": "■ 停止", "en": "■ Stop"},
    "kind_train": {"zh": "训练", "en": "a training run"},
    "kind_sample": {"zh": "采样", "en": "a sampling run"},
    "busy": {
        "zh": "你已有一个{kind}在运行（已运行 {elapsed}）。每个会话同时只能运行一个训练和一个采样：请等它结束，"
        "或先按“停止”。",
        "en": "You already have {kind} in progress ({elapsed} so far). One session runs one training and one "
        "sampling run at a time: wait for it to finish, or press Stop first.",
    },
    "over_cap": {
        "zh": "这次运行预计需要约 {estimate}（实测每步 {step}，共 {steps} 步，批量 {batch}，设备 {device}），"
        "超过了本服务器每次运行的上限 {cap}。请减少步数或批量。",
        "en": "This run would take about {estimate} (measured {step} per step × {steps} steps, batch {batch}, "
        "on {device}), more than this server's limit of {cap} per run. Use fewer steps or a smaller batch.",
    },
    "estimate": {
        "zh": "预计约 **{estimate}**（在本机实测每步 {step} × {steps} 步，批量 {batch}，设备 {device}）",
        "en": "Estimated **≈ {estimate}** (measured here: {step} per step × {steps} steps, batch {batch}, {device})",
    },
    "measuring": {
        "zh": "正在本机实测一步的用时，用来估计整次运行……",
        "en": "Timing one step on this machine to estimate the run…",
    },
    "progress": {"zh": "已用 {elapsed} / 预计约 {estimate}", "en": "{elapsed} of ≈ {estimate}"},
    "stopped": {
        "zh": "已在第 {step}/{n} 步停止，保留了到此为止的结果。",
        "en": "Stopped at step {step} of {n}; the results so far are kept.",
    },
    "capped": {
        "zh": "已到本服务器每次运行的上限 {cap}，在第 {step}/{n} 步停止，保留了到此为止的结果。",
        "en": "Reached this server's limit of {cap} per run: stopped at step {step} of {n}; the results so far are kept.",
    },
    "stopped_points": {
        "zh": "已在第 {step}/{n} 个点之后停止，保留了到此为止的结果。",
        "en": "Stopped after point {step} of {n}; the results so far are kept.",
    },
    "capped_points": {
        "zh": "已到本服务器每次运行的上限 {cap}，在第 {step}/{n} 个点之后停止，保留了到此为止的结果。",
        "en": "Reached this server's limit of {cap} per run: stopped after point {step} of {n}; the results so far are "
        "kept.",
    },
    "waiting": {
        "zh": "⏳ 排队中：等待空闲的计算位置（排队位置显示在下方结果上）……",
        "en": "⏳ Queued: waiting for a free slot (your place in the queue shows on the results below)…",
    },
}


def duration(seconds: float, lang: str) -> str:
    """A duration for people: "< 1 s", "12 s", "3 min 05 s" (zh: "12 秒", "3 分 05 秒"); "?" if unknown."""
    lang = normalize_language(lang)
    if not math.isfinite(seconds):
        return "?"
    if seconds < 1:
        return "< 1 秒" if lang == "zh" else "< 1 s"
    if seconds < 10:
        return f"{seconds:.1f} 秒" if lang == "zh" else f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} 秒" if lang == "zh" else f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} 分 {rest:02d} 秒" if lang == "zh" else f"{minutes} min {rest:02d} s"


def step_duration(seconds: float, lang: str) -> str:
    """One step's measured time: "35 ms" or "1.2 s" (zh: "35 毫秒", "1.2 秒")."""
    if seconds < 1:
        return f"{seconds * 1000:.0f} 毫秒" if lang == "zh" else f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} 秒" if lang == "zh" else f"{seconds:.1f} s"


def _estimate_fields(estimate: Estimate, lang: str) -> dict:
    return {
        "estimate": duration(estimate.seconds, lang),
        "step": step_duration(estimate.step_seconds, lang),
        "steps": estimate.steps,
        "batch": estimate.batch,
        "device": estimate.device,
    }


def estimate_line(estimate: Estimate, lang: Any) -> str:
    """The estimate as a status sentence in ``lang``, with what it was measured from."""
    lang = normalize_language(lang)
    return pick(TEXT, "estimate", lang).format(**_estimate_fields(estimate, lang))


def measuring_status(lang: Any) -> str:
    """The status while the estimate's step is being timed."""
    return pick(TEXT, "measuring", normalize_language(lang))


def waiting_status(lang: Any) -> str:
    """The status a run's button writes at once: the run is queued until a slot is free."""
    return pick(TEXT, "waiting", normalize_language(lang))


@dataclass
class Run:
    """One heavy run of one session: what it is, its estimate and cap, and whether it should end now."""

    session: str | None
    kind: str
    cap_seconds: float
    lang: str
    section: str | None = None  # the part of the page whose button started it, e.g. "sampling.pipeline"
    shown: Any = None  # what it has shown so far, when its section's language listener re-words that
    estimate: Estimate | None = None
    started: float = field(default_factory=time.monotonic)
    stop_requested: bool = False

    def admit(self, estimate: Estimate) -> Estimate:
        """Keep ``estimate`` for the progress line after refusing (``gr.Error``) one above the cap."""
        check_cap(estimate, self.lang)
        self.estimate = estimate
        self.started = time.monotonic()  # the cap counts the run, not the measuring before it
        return estimate

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started

    def stop_reason(self) -> str | None:
        """``"stop"`` (the learner pressed Stop), ``"cap"`` (the run reached the cap) or None (go on)."""
        if self.stop_requested:
            return "stop"
        if self.elapsed() > self.cap_seconds:
            return "cap"
        return None

    def ended_line(self, reason: str, step: int, total: int, lang: str | None = None, unit: str = "step") -> str:
        """The status sentence of a run that ended early at ``step`` (1-based) of ``total``, in ``lang``
        (default: the run's language); ``unit`` is what it counts: ``"step"``, or ``"point"`` (a curve's points)."""
        lang = lang or self.lang
        key = ("capped" if reason == "cap" else "stopped") + ("_points" if unit == "point" else "")
        return pick(TEXT, key, lang).format(step=step, n=total, cap=duration(self.cap_seconds, lang))

    def progress_line(self, lang: str | None = None) -> str:
        """ "12 s of ≈ 80 s": time so far against the estimate, in ``lang`` (default: the run's language)."""
        lang = lang or self.lang
        total = self.estimate.seconds if self.estimate is not None else math.nan
        return pick(TEXT, "progress", lang).format(elapsed=duration(self.elapsed(), lang),
                                                   estimate=duration(total, lang))  # fmt: skip

    def started_line(self, lang: str) -> str:
        """The line a run shows from its start until it streams its first step, in ``lang``: "timing one step"
        before ``admit``, its estimate after."""
        return measuring_status(lang) if self.estimate is None else estimate_line(self.estimate, lang)

    def abandoned(self) -> bool:
        """True when the run is well past its cap: its loop stops there, so it was left without closing."""
        return self.elapsed() > self.cap_seconds + STALE_AFTER_CAP_S


# (session hash, kind) -> its heavy run: a session holds at most one training and one sampling run, so it never
# holds more than one slot of either concurrency pool ("train", "sample"), while its model trains it may sample
_runs: dict[tuple[str, str], Run] = {}
_lock = threading.Lock()


def session_of(request: Any) -> str | None:
    """The session hash of a Gradio request, or None (a direct call, a test)."""
    session = getattr(request, "session_hash", None)
    return session if isinstance(session, str) and session else None


def running(request: Any, kind: str) -> Run | None:
    """The heavy run of ``kind`` ("train" or "sample") this request's session holds now, if any."""
    session = session_of(request)
    with _lock:
        run = _runs.get((session, kind)) if session else None
    return None if run is None or run.abandoned() else run


def running_in(request: Any, kind: str, section: str) -> Run | None:
    """This session's run of ``kind`` if the part of the page called ``section`` started it, else None."""
    run = running(request, kind)
    return run if run is not None and run.section == section else None


def check_cap(estimate: Estimate, lang: Any) -> float:
    """The cap in seconds (``$DIFFUSION_EXPLORER_MAX_RUN_SECONDS``), after refusing (``gr.Error``) an
    ``estimate`` above it."""
    lang = normalize_language(lang)
    cap = run_cap_seconds()
    if over_cap(estimate, cap):
        raise gr.Error(pick(TEXT, "over_cap", lang).format(**_estimate_fields(estimate, lang), cap=duration(cap, lang)))
    return cap


@contextlib.contextmanager
def heavy_run(request: Any, kind: str, lang: Any, section: str | None = None) -> Iterator[Run]:
    """Hold this session's one slot for a run of ``kind`` ("train" or "sample") while the block runs; the
    block then measures its estimate and calls ``run.admit(estimate)`` before the heavy work. ``section``
    names the part of the page that started it (``running_in``).

    Raises:
        gr.Error: the session already runs a run of this kind.
    """
    lang = normalize_language(lang)
    session = session_of(request)
    run = Run(session, kind, run_cap_seconds(), lang, section)
    with _lock:
        current = _runs.get((session, kind)) if session else None
        if current is not None and not current.abandoned():
            raise gr.Error(pick(TEXT, "busy", lang).format(kind=pick(TEXT, f"kind_{current.kind}", lang),
                                                           elapsed=duration(current.elapsed(), lang)))  # fmt: skip
        if session:
            _runs[(session, kind)] = run
    try:
        yield run
    finally:
        with _lock:
            if session and _runs.get((session, kind)) is run:
                del _runs[(session, kind)]


@uses_no_deferred_module  # it only sets a field: it never waits for the first import
def follow_language(lang: Any, request: gr.Request) -> None:
    """Handler of a language switch: this session's running runs word their next lines in ``lang``.

    A run's handler reads ``run.lang`` each time it words a line (its progress, its final status), so a run
    started in one language and switched during its stream ends in the page's language, not the one it started
    in (its earlier lines are re-worded by the tab's own language listeners, from the run's state)."""
    lang = normalize_language(lang)
    for kind in KINDS:
        run = running(request, kind)
        if run is not None:
            run.lang = lang


def request_stop(request: Any, kind: str) -> bool:
    """Ask the session's running ``kind`` run to end after its current step; True if one was running."""
    run = running(request, kind)
    if run is None:
        return False
    run.stop_requested = True
    return True


def stop_sampling(request: gr.Request) -> None:
    """Handler of the sampling Stop buttons: this session's sampling run ends after its current step."""
    request_stop(request, "sample")


def stop_training(request: gr.Request) -> None:
    """Handler of the training Stop button: this session's training run ends after its current step."""
    request_stop(request, "train")
