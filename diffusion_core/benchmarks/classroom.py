"""A class of 30 on one server: 25 learners scrub the forward-process sliders while 5 sample.

``python app.py`` runs in a subprocess on a free loopback port, as a teacher starts it. Each learner is
its own ``gradio_client.Client`` (its own Gradio session) in its own thread, and follows a *plan*: a
list of :class:`Call` (an API name, its arguments, and the pause before it), made from what the learner
does (:class:`Drag`: choose images, seed and schedule, then drag a slider through some values).

* **Scrubbing learners** (``SCRUBBERS``) drag the Corruption *amount* and the DDPM *t* sliders. Before the
  sliders scrubbed in the page, every move of a slider was one server event (``/corrupt`` or ``/ddpm_noise``; the page's
  ``trigger_mode="always_last"`` keeps one event of a session in flight and sends the slider's latest
  value when it returns): :func:`per_move_plan`.
* **Sampling learners** (``SAMPLERS``) press the Sampling tab's two buttons with the page's CPU
  defaults: A's ``/mix_sample`` (5 steps, 8 images), then B's ``/ddpm_sample`` (DPM-Solver++, 20 steps,
  16 images), one run at a time as the page allows (``ui.runs``), and again while the class still
  scrubs (at most ``SAMPLING_ROUNDS`` rounds).

After each event the learner's client fetches the new PNG pictures of its result, as a page does
(pictures already fetched by that session are not fetched again, like a browser's cache). A monitor
samples the server's resident memory (process and children, every 0.2 s) and Gradio's queue.

* **The frames plan** (:func:`frames_plan`, the app's own since the sliders scrub in the page): one
  ``/corruption_frames`` or ``/noising_frames`` call when a learner chooses new images, seed or schedule, no
  server event while the slider moves, and one ``/corrupt`` or ``/ddpm_noise`` when the learner lets go (the
  strips and the histogram). The per-move plan stays as the "before", measured in the same run.

Like the other API suites this module only *drives* the app over HTTP; ``gradio_client``, ``httpx``
and ``psutil`` are imported lazily. ``tests/test_classroom_load.py`` runs the same load and asserts
0 errors, complete sessions and bounded memory; ``bench --only classroom`` records the latencies.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from diffusion_core.benchmarks import BenchTable, percentile
from diffusion_core.benchmarks.api import ROOT
from diffusion_core.benchmarks.concurrency import QUEUE_MAX_SIZE, RssSampler, app_process, queue_size, rss_mib

SCRUBBERS = 25
SAMPLERS = 5
DRAGS = 8  # per scrubbing learner: the amount and the t slider in turn (a new seed or schedule now and then)
MOVES_PER_DRAG = 15  # slider inputs per drag: a 1.5 s drag at 10 inputs a second
MOVE_INTERVAL_S = 0.1  # between two inputs of one drag (the hand keeps moving whatever the server does)
PAUSE_S = (1.0, 3.0)  # looking at the picture before the next drag (uniform, seeded per learner)
ARRIVAL_S = 3.0  # the class opens its pages within the first seconds (uniform, seeded per learner)
SAMPLING_ROUNDS = 3  # at most; a sampling learner starts another round only while the class scrubs
CALL_TIMEOUT_S = 240.0
DEADLINE_S = 600.0  # a phase that is not done by then ends, its unfinished calls counted as errors
RSS_LIMIT_MIB = 2560  # the test's bound on the server's peak RSS (idle ~1.1 GiB; measured peak ~1.8 GiB)
# A page's picture client lets an idle connection go after this long. Gradio starts uvicorn with its default
# keep-alive of 5 s, and httpx's default expiry is also 5 s: a request sent on a connection idle for 5 s can
# meet the server closing it and fail with "Connection reset by peer" (a browser resends such a request on
# its own; httpx does not). Measured on 2 cores, 30-60 clients each reusing one connection after 4.9-5.1 s idle
# while the app was busy: 2 resets in 4,500 GETs at httpx's default, 0 in 2,400 at 2 s. Well under 5 s, the
# client never reuses a connection that the server may be dropping.
PAGE_KEEPALIVE_S = 2.0

# The Sampling tab's defaults on a CPU (tests/test_classroom_load.py checks them against ui.sampling_tab)
MIX_STEPS, MIX_BATCH = 5, 8  # ui/sampling_tab/mix.py: DEFAULT_MIX_STEPS, DEFAULT_MIX_BATCH
CPU_SAMPLER, CPU_STEPS, CPU_BATCH = "dpm++", 20, 16  # ui/sampling_tab/scheduler_loop.py on a CPU
SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")  # diffusion_core.noising.BETA_SCHEDULES
PICTURES = (".png", ".webp", ".jpg", ".jpeg")  # files a page draws (a GIF download is fetched only on a click)
API_NAMES = ("/corruption_frames", "/noising_frames", "/corrupt", "/ddpm_noise", "/mix_sample", "/ddpm_sample")
ALONE_SCRUB, ALONE_SAMPLE = "one scrubbing learner alone", "one sampling learner alone"  # the baselines' phases
ARTIFACTS = ROOT / "test-artifacts"


# ----------------------------------------------------------------------------------------------
# What a learner does, and the server events it costs
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One server event of a plan: ``client.submit(*args, api_name=api_name)``.

    ``think_s``: the pause before it, after the previous call's result; within a drag (``drag`` set) the
    time from the previous *input* instead. Calls of one drag are coalesced as the page's
    ``trigger_mode="always_last"`` does: one event in flight, and when it returns only the latest input that
    came meanwhile is sent (the drag's last input is always sent).
    """

    api_name: str
    args: tuple
    think_s: float
    drag: int | None = None  # calls with the same drag number are the inputs of one drag
    repeat: bool = False  # part of a repeated round: skipped once the class has finished scrubbing


@dataclass(frozen=True)
class Drag:
    """A learner choosing images and a schedule, then dragging one slider through ``values``.

    ``lesson``: "corruption" (values: amounts in [0, 1]) or "noising" (values: timesteps t in 0..999).
    """

    lesson: str
    seed: int  # the MNIST digits shown (0..2**31-1; the tab's seed box)
    schedule: str  # the DDPM beta schedule (one of SCHEDULES; the noising lesson only)
    values: tuple[float, ...]
    pause_s: float  # looking at the last picture before this drag starts
    lang: str

    @property
    def choice(self) -> tuple[str, int, str]:
        """What fixes the frames of a drag: the lesson, the images and (noising) the schedule."""
        return (self.lesson, self.seed, self.schedule if self.lesson == "noising" else "")


def learner_script(index: int, drags: int = DRAGS, moves: int = MOVES_PER_DRAG) -> list[Drag]:
    """What scrubbing learner ``index`` does: ``drags`` drags of ``moves`` inputs, alternating the two lessons.

    Seeded by ``index``: each learner has its own digits, amounts, timesteps and pauses; every second drag of a
    lesson picks a new seed, and the noising drags go through the three schedules.
    """
    rng = random.Random(index)
    lang = ("zh", "en")[index % 2]
    script = []
    for number in range(drags):
        lesson = ("corruption", "noising")[number % 2]
        seed = index + 100 * (number // 4)
        schedule = SCHEDULES[(index + number // 2) % len(SCHEDULES)]
        if lesson == "corruption":  # the slider's step is 0.01
            start, end = rng.uniform(0, 1), rng.uniform(0, 1)
            values = tuple(round(start + (end - start) * k / max(moves - 1, 1), 2) for k in range(moves))
        else:
            start, end = rng.randrange(1000), rng.randrange(1000)
            values = tuple(round(start + (end - start) * k / max(moves - 1, 1)) for k in range(moves))
        script.append(Drag(lesson, seed, schedule, values, rng.uniform(*PAUSE_S), lang))
    return script


def move_call(drag: Drag, value: float) -> tuple[str, tuple]:
    """The server event of one slider move today: ``/corrupt`` or ``/ddpm_noise`` with the tab's other values."""
    if drag.lesson == "corruption":  # (source, seed, amount, upload, lang)
        return "/corrupt", ("mnist", drag.seed, value, None, drag.lang)
    # (source, seed, upload, schedule, T, beta_start, beta_end, t, noise kind, lang): the tab's defaults
    return "/ddpm_noise", ("mnist", drag.seed, None, drag.schedule, 1000, 1e-4, 0.02, value, "randn", drag.lang)


def per_move_plan(script: Sequence[Drag]) -> list[Call]:
    """Today's plan: every input of a slider is a server event (coalesced while one is in flight)."""
    calls = []
    for number, drag in enumerate(script):
        for move, value in enumerate(drag.values):
            api_name, args = move_call(drag, value)
            calls.append(Call(api_name, args, drag.pause_s if move == 0 else MOVE_INTERVAL_S, drag=number))
    return calls


def frames_call(drag: Drag) -> tuple[str, tuple]:
    """The call that sends the page everything a drag's slider needs: ``/corruption_frames`` or ``/noising_frames``."""
    if drag.lesson == "corruption":  # (source, seed, amount, upload)
        return "/corruption_frames", ("mnist", drag.seed, drag.values[0], None)
    # (source, seed, upload, schedule, T, beta_start, beta_end, t, noise kind): the tab's defaults
    return "/noising_frames", ("mnist", drag.seed, None, drag.schedule, 1000, 1e-4, 0.02, drag.values[0], "randn")


def frames_plan(script: Sequence[Drag]) -> list[Call]:
    """The app's plan since the sliders scrub in the page: a frames call for each new choice of images, seed
    or schedule; the moves themselves cost nothing; letting go of the slider costs one ``/corrupt`` or
    ``/ddpm_noise`` (the strips and the histogram at the final value), after the drag's own time."""
    calls, held = [], {}  # lesson -> the choice whose frames the page holds
    for drag in script:
        think_s = drag.pause_s
        if held.get(drag.lesson) != drag.choice:
            held[drag.lesson] = drag.choice
            calls.append(Call(*frames_call(drag), think_s))
            think_s = 0.0
        drag_s = MOVE_INTERVAL_S * (len(drag.values) - 1)
        calls.append(Call(*move_call(drag, drag.values[-1]), think_s + drag_s))
    return calls


# name -> plan: "per_move" is the server-side slider of before, "frames" the app's page-side scrubbing
SCRUB_PLANS: dict[str, Callable[[Sequence[Drag]], list[Call]]] = {"per_move": per_move_plan, "frames": frames_plan}


def sampling_plan(index: int, rounds: int = SAMPLING_ROUNDS) -> list[Call]:
    """Sampling learner ``index``: A's mix sampler, then B's DPM-Solver++, per round; rounds after the first
    are skipped once the class has finished scrubbing."""
    rng = random.Random(1000 + index)
    lang = ("zh", "en")[index % 2]
    calls = []
    for number in range(rounds):
        seed = index + 100 * number
        calls += [
            Call("/mix_sample", (MIX_STEPS, MIX_BATCH, seed, lang), rng.uniform(*PAUSE_S), repeat=number > 0),
            Call("/ddpm_sample", (CPU_SAMPLER, CPU_STEPS, CPU_BATCH, seed, lang), rng.uniform(*PAUSE_S),
                 repeat=number > 0),
        ]  # fmt: skip
    return calls


# ----------------------------------------------------------------------------------------------
# Running the class
# ----------------------------------------------------------------------------------------------


def required(plan: Sequence[Call]) -> list[int]:
    """The plan steps whose result a learner must see: every call outside a drag but a repeated round's, and
    the last input of every drag (always_last always sends it)."""
    return [
        index
        for index, call in enumerate(plan)
        if not call.repeat and (call.drag is None or index + 1 == len(plan) or plan[index + 1].drag != call.drag)
    ]


@dataclass
class CallRecord:
    """What one learner saw of one event (times in seconds)."""

    session: int
    role: str  # "scrub" or "sample"
    api_name: str
    start: float  # when it was sent, since the phase started
    index: int  # its place in the learner's plan
    coalesced: int = 0  # inputs of the drag skipped before it (always_last: a later input came first)
    event_s: float | None = None  # sent -> the last update received
    shown_s: float | None = None  # its input -> the new pictures of the result fetched (what the learner waits)
    pictures: int = 0  # new pictures fetched
    pictures_in_result: int = 0  # pictures the result holds (new or already fetched)
    updates: int = 0  # updates streamed (1 for a plain event)
    error: str | None = None


@dataclass
class Learner:
    """One simulated learner: a session (its client), its role and its plan."""

    index: int
    role: str
    plan: list[Call]
    client: Any = field(default=None, repr=False)


def _pictures(output: Any) -> list[str]:
    """URLs of the pictures (PNG etc.) in an event's output: FileData dicts of a ``download_files=False`` client."""
    items = output if isinstance(output, (list, tuple)) else [output]
    return [
        item["url"]
        for item in items
        if isinstance(item, dict) and item.get("url") and str(item.get("path", "")).lower().endswith(PICTURES)
    ]


def _fetch_picture(http: Any, url: str) -> None:
    """GET one picture of a result as the page draws it; an error names the picture, not only the event."""
    try:
        http.get(url).raise_for_status()
    except Exception as error:
        raise RuntimeError(f"picture {url.rsplit('/', 2)[-2][:12]}…: {type(error).__name__}: {error}") from error


def _next_index(plan: Sequence[Call], done: int, inputs: dict[int, float], now: float) -> tuple[int, float]:
    """After call ``done`` returned at ``now``: the next call to send and the moment of its input.

    Within a drag, the latest input that already came is sent (the ones between are coalesced); when none
    came yet, the next input, at its time. Otherwise the next call, ``think_s`` after ``now``."""
    following = done + 1
    if following >= len(plan) or plan[following].drag is None or plan[following].drag != plan[done].drag:
        return following, now + plan[following].think_s if following < len(plan) else now
    for index in range(following, len(plan)):  # the inputs of the drag go on at their own pace
        if plan[index].drag != plan[done].drag:
            break
        inputs.setdefault(index, inputs[index - 1] + plan[index].think_s)
    latest = following
    while latest + 1 < len(plan) and plan[latest + 1].drag == plan[done].drag and inputs[latest + 1] <= now:
        latest += 1
    return latest, inputs[latest]


def _run_learner(learner: Learner, start: float, deadline: float, class_done: threading.Event,
                 records: list[CallRecord], lock: threading.Lock) -> None:  # fmt: skip
    """Make ``learner``'s calls as its page would, fetch each result's new pictures, record them."""
    httpx = importlib.import_module("httpx")
    plan = learner.plan
    seen: set[str] = set()
    inputs: dict[int, float] = {}  # plan index -> the moment of its input (time.monotonic())
    keep_alive = httpx.Limits(keepalive_expiry=PAGE_KEEPALIVE_S)
    with httpx.Client(timeout=CALL_TIMEOUT_S, limits=keep_alive) as http:  # one keep-alive connection per page
        index, moment, previous = 0, time.monotonic() + (plan[0].think_s if plan else 0), -1
        while index < len(plan):
            call = plan[index]
            if call.repeat and class_done.is_set():
                break
            inputs[index] = moment
            time.sleep(max(0.0, moment - time.monotonic()))
            record = CallRecord(learner.index, learner.role, call.api_name, time.monotonic() - start, index,
                                coalesced=index - previous - 1)  # fmt: skip
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                record.error = "not sent before the deadline"
            else:
                sent = time.monotonic()
                job = learner.client.submit(*call.args, api_name=call.api_name)
                try:
                    output = job.result(timeout=min(CALL_TIMEOUT_S, remaining))
                    record.event_s = time.monotonic() - sent
                    record.updates = len(job.outputs())
                    urls = _pictures(output)
                    record.pictures_in_result = len(urls)
                    for url in urls:
                        if url not in seen:
                            _fetch_picture(http, url)
                            seen.add(url)
                            record.pictures += 1
                    record.shown_s = time.monotonic() - moment
                except Exception as error:  # a refused, failed or unfinished event: counted, never raised
                    record.error = f"{type(error).__name__}: {error}"[:300]
                    with contextlib.suppress(Exception):
                        job.cancel()
            with lock:
                records.append(record)
            if record.error:
                return  # a learner whose page failed stops there (the rest of the plan is missed, and counted)
            previous = index
            index, moment = _next_index(plan, index, inputs, time.monotonic())


@dataclass
class ClassRun:
    """The outcome of :func:`run_class`: every call of every learner, and the server seen meanwhile."""

    learners: list[Learner] = field(repr=False)
    records: list[CallRecord]
    wall_s: float
    connect_s: float
    rss_idle_mib: float
    rss_peak_mib: float
    max_queue: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]

    def of(self, api_name: str | None = None, role: str | None = None) -> list[CallRecord]:
        return [r for r in self.records if (api_name in (None, r.api_name)) and (role in (None, r.role))]

    def latencies(self, api_name: str, shown: bool = False) -> list[float]:
        """Seconds per event of ``api_name`` that ended well: submit -> result (``shown``: -> pictures fetched)."""
        values = [r.shown_s if shown else r.event_s for r in self.of(api_name) if r.error is None]
        return [value for value in values if value is not None]

    def errors(self) -> list[str]:
        """One line per failed event, and one per learner who did not see a result it needed (:func:`required`)."""
        lines = [f"session {r.session} ({r.role}) {r.api_name}: {r.error}" for r in self.records if r.error]
        for learner in self.learners:
            shown = {r.index for r in self.records if r.session == learner.index and r.error is None}
            missing = [index for index in required(learner.plan) if index not in shown]
            if missing:
                lines.append(f"session {learner.index} ({learner.role}): no result for plan steps {missing}")
        return lines

    def inputs(self, api_name: str) -> int:
        """Inputs (slider moves, button presses) of ``api_name`` made: its events plus those coalesced."""
        return sum(1 + r.coalesced for r in self.of(api_name))

    def sessions(self, role: str) -> int:
        return sum(learner.role == role for learner in self.learners)

    def figures(self) -> dict[str, Any]:
        """JSON-ready numbers: per API name the count, p50/p95/max of the event and of the pictures shown."""

        def summary(values: list[float]) -> dict[str, float]:
            if not values:
                return {}
            return {"p50_ms": round(percentile(values, 50) * 1000, 1), "p95_ms": round(percentile(values, 95) * 1000, 1),
                    "max_ms": round(max(values) * 1000, 1)}  # fmt: skip

        names = sorted({r.api_name for r in self.records})
        return {
            "sessions": {role: self.sessions(role) for role in ("scrub", "sample")},
            "wall_s": round(self.wall_s, 1),
            "connect_s": round(self.connect_s, 1),
            "events": {
                name: {
                    "inputs": self.inputs(name),
                    "events": len(self.of(name)),
                    "event": summary(self.latencies(name)),
                    "shown": summary(self.latencies(name, shown=True)),
                }
                for name in names
            },
            "pictures_fetched": sum(r.pictures for r in self.records),
            "errors": self.errors(),
            "rss_idle_mib": round(self.rss_idle_mib),
            "rss_peak_mib": round(self.rss_peak_mib),
            "max_queue": self.max_queue,
            "load_average_before": [round(value, 2) for value in self.load_before],
            "load_average_after": [round(value, 2) for value in self.load_after],
        }


def _connect(url: str, learners: list[Learner]) -> None:
    """Open every learner's session (a ``gradio_client.Client`` each, files left on the server), in parallel."""
    client_class = importlib.import_module("gradio_client").Client

    def open_session(learner: Learner) -> None:
        learner.client = client_class(url, verbose=False, download_files=False, analytics_enabled=False,
                                      httpx_kwargs={"timeout": CALL_TIMEOUT_S})  # fmt: skip

    threads = [threading.Thread(target=open_session, args=(learner,)) for learner in learners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    missing = [learner.index for learner in learners if learner.client is None]
    if missing:
        raise RuntimeError(f"could not open the sessions of learners {missing}")


def run_class(
    url: str,
    pid: int,
    scrubbers: int = SCRUBBERS,
    samplers: int = SAMPLERS,
    drags: int = DRAGS,
    moves: int = MOVES_PER_DRAG,
    plan: str = "frames",
    rounds: int = SAMPLING_ROUNDS,
    deadline_s: float = DEADLINE_S,
    first_index: int = 0,
) -> ClassRun:
    """Run ``scrubbers`` scrubbing and ``samplers`` sampling learners at once against the app at ``url``
    (server process ``pid``); return every call and the server's peak memory and queue.

    Learners are numbered from ``first_index`` (scrubbers first), which seeds their scripts, so a later phase
    on the same server sends other seeds than an earlier one.
    """
    scrub_plan = SCRUB_PLANS[plan]
    learners = [
        Learner(first_index + n, "scrub", scrub_plan(learner_script(first_index + n, drags, moves)))
        for n in range(scrubbers)
    ] + [Learner(first_index + scrubbers + n, "sample", sampling_plan(first_index + scrubbers + n, rounds))
         for n in range(samplers)]  # fmt: skip
    connect_start = time.monotonic()
    _connect(url, learners)
    connect_s = time.monotonic() - connect_start
    records: list[CallRecord] = []
    lock = threading.Lock()
    class_done = threading.Event()
    queue_sizes: list[int] = []
    rss_idle = rss_mib(pid)
    load_before = os.getloadavg()
    try:
        with RssSampler(pid, interval=0.2) as rss:
            start = time.monotonic()
            deadline = start + deadline_s

            def arrive(learner: Learner) -> None:  # the class opens its pages within the first seconds
                time.sleep(random.Random(learner.index).uniform(0, ARRIVAL_S))
                _run_learner(learner, start, deadline, class_done, records, lock)

            threads = {learner.index: threading.Thread(target=arrive, args=(learner,)) for learner in learners}
            for thread in threads.values():
                thread.start()
            scrubbing = [threads[learner.index] for learner in learners if learner.role == "scrub"]
            while any(thread.is_alive() for thread in threads.values()):
                if not any(thread.is_alive() for thread in scrubbing):
                    class_done.set()
                with contextlib.suppress(Exception):
                    queue_sizes.append(queue_size(url))
                time.sleep(0.5)
            wall_s = time.monotonic() - start
    finally:
        for learner in learners:
            with contextlib.suppress(Exception):
                learner.client.close()
    return ClassRun(
        learners=learners, records=sorted(records, key=lambda r: r.start), wall_s=wall_s, connect_s=connect_s,
        rss_idle_mib=rss_idle, rss_peak_mib=rss.peak, max_queue=max(queue_sizes, default=0),
        load_before=load_before, load_after=os.getloadavg(),
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------
# The benchmark suite
# ----------------------------------------------------------------------------------------------


def _phases(quick: bool) -> list[tuple[str, dict[str, Any]]]:
    """The phases of a benchmark run, in order, as (label, ``run_class`` keywords): the baselines first."""
    drags = DRAGS // 2 if quick else DRAGS
    phases = [
        (ALONE_SCRUB, {"scrubbers": 1, "samplers": 0, "drags": drags, "first_index": 1000, "plan": "per_move"}),
        (ALONE_SAMPLE, {"scrubbers": 0, "samplers": 1, "rounds": 1, "first_index": 1001}),
    ]
    if not quick:
        phases.append(
            (f"{SCRUBBERS} scrubbing in the page, no samplers", {"samplers": 0, "drags": drags, "first_index": 2000})
        )
    rounds = 1 if quick else SAMPLING_ROUNDS
    phases.append((f"before: the class, a server event per slider move ({SCRUBBERS} scrubbing + {SAMPLERS} sampling)",
                   {"drags": drags, "rounds": rounds, "plan": "per_move", "first_index": 3000}))  # fmt: skip
    phases.append((f"the class: {SCRUBBERS} scrubbing in the page + {SAMPLERS} sampling",
                   {"drags": drags, "rounds": rounds, "plan": "frames"}))  # fmt: skip
    return phases


def run(quick: bool = False) -> list[BenchTable]:
    """``python -m diffusion_core bench --only classroom``: the baselines, then the class, on one ``python app.py``.

    ``quick`` halves each scrubbing learner's drags, allows one sampling round and leaves out the phase of the
    scrubbing learners without samplers. The figures of every phase go to ``test-artifacts/classroom.json``."""
    phases = _phases(quick)
    figures: dict[str, dict[str, Any]] = {}
    with app_process() as app:
        time.sleep(2.0)  # let the freshly started server settle
        for label, keywords in phases:
            result = run_class(app.url, app.pid, **keywords)
            figures[label] = result.figures()
            print(f"  {label}: {result.wall_s:.0f} s, {len(result.errors())} errors")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "classroom.json").write_text(json.dumps(figures, indent=1, ensure_ascii=False) + "\n")
    settings = {"drags": phases[0][1]["drags"], "rounds": phases[-1][1]["rounds"]}
    return tables(figures, **settings)


def _seconds(ms_value: float | None) -> str:
    """A latency for the table: "85 ms", or "3.3 s" from 1 s on; "—" when there is none."""
    if ms_value is None:
        return "—"
    return f"{ms_value:.0f} ms" if ms_value < 1000 else f"{ms_value / 1000:.1f} s"


def tables(figures: dict[str, dict[str, Any]], drags: int = DRAGS, rounds: int = SAMPLING_ROUNDS) -> list[BenchTable]:
    """The suite's two tables from the phases' :meth:`ClassRun.figures` (label -> figures, in order)."""
    alone = {name: numbers["event"] for label in (ALONE_SCRUB, ALONE_SAMPLE) if label in figures
             for name, numbers in figures[label]["events"].items() if numbers["event"]}  # fmt: skip
    events = BenchTable(
        title=f"A class of {SCRUBBERS + SAMPLERS}: {SCRUBBERS} learners scrub the forward sliders while {SAMPLERS} "
        "sample (python app.py, one gradio_client session each)",
        columns=["phase", "event", "inputs → events sent", "event p50", "event p95", "event max",
                 "input → pictures p95", "event p95 vs alone"],
    )  # fmt: skip
    for label, phase in figures.items():
        for name in API_NAMES:
            numbers = phase["events"].get(name)
            if not numbers:
                continue
            event, shown = numbers["event"], numbers["shown"]
            ratio = f"{event['p95_ms'] / alone[name]['p95_ms']:.1f}x" if event and name in alone else "—"
            ratio = "(baseline)" if label in (ALONE_SCRUB, ALONE_SAMPLE) else ratio
            events.rows.append([
                label, f"`{name}`", f"{numbers['inputs']} → {numbers['events']}", _seconds(event.get("p50_ms")),
                _seconds(event.get("p95_ms")), _seconds(event.get("max_ms")), _seconds(shown.get("p95_ms")), ratio,
            ])  # fmt: skip
    last = list(figures.values())[-1]
    events.notes += [
        f"Measured under the machine's load average (1 min) of {last['load_average_before'][0]:.1f} → "
        f"{last['load_average_after'][0]:.1f} during the class (other work shares these 2 cores: see the second "
        "table); the clients of all learners run in the benchmark's process on the same cores as the server.",
        f"A scrubbing learner makes {drags} drags of {MOVES_PER_DRAG} inputs ({MOVE_INTERVAL_S * 1000:.0f} ms apart), "
        f"the amount and t sliders in turn, with new seeds and schedules on the way and {PAUSE_S[0]:g}-{PAUSE_S[1]:g} s "
        "of looking before each drag. In the page (the app now): a frames call (/corruption_frames or "
        "/noising_frames) for each new choice of digits, seed or schedule, no event while the slider moves, and one "
        "/corrupt or /ddpm_noise on letting go. Before: every input was a server event, sent as the page's "
        "always_last does: one in flight per session; when it returns, only the latest input that came meanwhile "
        "is sent ('inputs → events sent'; the last input of every drag is always sent).",
        f"A sampling learner presses A's Sample (/mix_sample, {MIX_STEPS} steps, {MIX_BATCH} images), then B's "
        f"(/ddpm_sample, {CPU_SAMPLER}, {CPU_STEPS} steps, {CPU_BATCH} images: the CPU defaults), one run at a "
        f"time, and again while the class scrubs (at most {rounds} round{'s' if rounds > 1 else ''}). The class "
        f"arrives within {ARRIVAL_S:g} s.",
        "Event: sent → the last update received (a sampling run: its whole stream, its wait in the queue "
        "included). Input → pictures: from the slider input (or the press) to every new PNG of the result "
        "fetched, as a page does: what a learner waits for. Alone: the same kind of learner with the same kind "
        "of plan, by itself, on the same server just before the class (its first events also warm the server).",
    ]
    summary = BenchTable(
        title="The class: errors, server memory, queue, load average",
        columns=["phase", "errors", "server RSS before → peak", "most events queued", "wall", "opening the sessions",
                 "load average (1 min) before → after"],
    )  # fmt: skip
    for label, phase in figures.items():
        summary.rows.append([
            label, str(len(phase["errors"])), f"{phase['rss_idle_mib']} → {phase['rss_peak_mib']} MiB",
            f"{phase['max_queue']} (≤ {QUEUE_MAX_SIZE})", f"{phase['wall_s']:.0f} s", f"{phase['connect_s']:.1f} s",
            f"{phase['load_average_before'][0]:.1f} → {phase['load_average_after'][0]:.1f}",
        ])  # fmt: skip
    summary.notes.append(
        f"Targets: 0 errors; tests/test_classroom_load.py asserts them and a peak RSS under {RSS_LIMIT_MIB} MiB. "
        "RSS: the server process and its children (psutil, every 0.2 s); the phases share one server, so "
        "'before' is what the earlier phases left. Wall: from the first arrival until every learner is done "
        "(sessions opened beforehand, in parallel). Figures per phase: test-artifacts/classroom.json."
    )
    summary.notes += [f"error: {line}" for phase in figures.values() for line in phase["errors"][:3]]
    return [events, summary]
