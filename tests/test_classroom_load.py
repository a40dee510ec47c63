"""A class of 30 on one 2-core server: 25 learners scrub the forward sliders while 5 sample, with 0 errors.

The server runs as a teacher starts it (``python app.py`` on a free loopback port); each learner is its own
``gradio_client.Client`` session following a plan (``diffusion_core.benchmarks.classroom``): scrubbing
learners drag the Corruption amount and the DDPM t sliders (today one ``/corrupt`` or ``/ddpm_noise`` event
per input, coalesced as the page's ``always_last`` does), sampling learners run the Sampling tab's CPU
defaults (``/mix_sample``, then ``/ddpm_sample`` with DPM-Solver++ 20 steps). Asserted: no error, every
learner saw every result it needed (the last input of every drag, every sampling run) with its pictures,
the sampling ran while the class scrubbed, the queue never filled, and the server's peak RSS stayed under
``RSS_LIMIT_MIB``. Never a speed: the latencies are the ``bench --only classroom`` suite's. The figures go to
``test-artifacts/classroom_test.json``. It keeps both cores busy for a few minutes: run it alone.
"""

from __future__ import annotations

import json

import pytest

from diffusion_core.benchmarks.classroom import (
    ARTIFACTS,
    CPU_BATCH,
    CPU_SAMPLER,
    CPU_STEPS,
    DRAGS,
    MIX_BATCH,
    MIX_STEPS,
    MOVE_INTERVAL_S,
    MOVES_PER_DRAG,
    PAGE_KEEPALIVE_S,
    RSS_LIMIT_MIB,
    SAMPLERS,
    SCHEDULES,
    SCRUB_PLANS,
    SCRUBBERS,
    Call,
    _fetch_picture,
    _next_index,
    frames_plan,
    learner_script,
    per_move_plan,
    required,
    run_class,
    sampling_plan,
    tables,
)
from diffusion_core.benchmarks.concurrency import QUEUE_MAX_SIZE, app_process, client_for

# ----------------------------------------------------------------------------------------------
# The plans (no server)
# ----------------------------------------------------------------------------------------------


def test_the_sampling_learners_press_the_pages_cpu_defaults():
    from diffusion_core.noising import BETA_SCHEDULES
    from ui.context import ON_GPU
    from ui.sampling_tab import mix, scheduler_loop

    assert (MIX_STEPS, MIX_BATCH) == (mix.DEFAULT_MIX_STEPS, mix.DEFAULT_MIX_BATCH)
    assert (CPU_STEPS, CPU_BATCH) == (scheduler_loop.FEW_STEPS, scheduler_loop.DEFAULT_BATCH)
    if not ON_GPU:
        assert (CPU_SAMPLER, CPU_STEPS) == (scheduler_loop.DEFAULT_SAMPLER, scheduler_loop.DEFAULT_STEPS)
    assert SCHEDULES == BETA_SCHEDULES
    calls = sampling_plan(3, rounds=2)
    assert [call.api_name for call in calls] == ["/mix_sample", "/ddpm_sample"] * 2
    assert [call.repeat for call in calls] == [False, False, True, True]  # only the first round is required
    assert calls[1].args == (CPU_SAMPLER, CPU_STEPS, CPU_BATCH, 3, "en")


def test_a_scrubbing_learners_moves_stay_within_the_widgets():
    for index in range(SCRUBBERS):
        script = learner_script(index)
        plan = per_move_plan(script)
        assert len(script) == DRAGS and len(plan) == DRAGS * MOVES_PER_DRAG
        assert [drag.lesson for drag in script[:2]] == ["corruption", "noising"]
        for drag in script:
            if drag.lesson == "corruption":  # the amount slider: 0..1 in steps of 0.01
                assert all(0 <= value <= 1 and round(value, 2) == value for value in drag.values)
            else:  # the t slider of T = 1000: integers 0..999
                assert all(isinstance(value, int) and 0 <= value <= 999 for value in drag.values)
            assert drag.schedule in SCHEDULES and drag.seed >= 0
        assert {call.api_name for call in plan} == {"/corrupt", "/ddpm_noise"}
        # the last input of each drag is required (always_last sends it), and nothing else
        assert required(plan) == [MOVES_PER_DRAG * (n + 1) - 1 for n in range(DRAGS)]
    assert learner_script(4) == learner_script(4) != learner_script(5)  # seeded per learner
    assert per_move_plan(learner_script(0))[1].args == ("mnist", 0, learner_script(0)[0].values[1], None, "zh")
    assert "per_move" in SCRUB_PLANS


def test_in_the_page_a_drag_costs_its_frames_once_and_one_event_on_release():
    script = learner_script(7)
    plan = frames_plan(script)
    frames = [call for call in plan if call.api_name.endswith("_frames")]
    releases = [call for call in plan if not call.api_name.endswith("_frames")]
    assert len(releases) == len(script)  # one /corrupt or /ddpm_noise per drag, at the drag's last value
    assert [call.args[2] if call.api_name == "/corrupt" else call.args[7] for call in releases] == [
        drag.values[-1] for drag in script
    ]
    assert len(frames) == len({drag.choice for drag in script}) < len(script)  # a new choice only
    assert frames[0].args == ("mnist", script[0].seed, script[0].values[0], None)
    assert all(call.drag is None for call in plan)  # nothing to coalesce: the moves never reach the server


def test_inputs_that_come_while_an_event_is_in_flight_are_coalesced():
    """always_last: when an event returns, the latest input that came meanwhile is sent, the ones before it never."""
    drag = [Call("/corrupt", (k,), 2.0 if k == 0 else MOVE_INTERVAL_S, drag=0) for k in range(5)]
    plan = [*drag, Call("/corrupt", ("next",), 1.5, drag=1)]
    inputs = {0: 10.0}  # the drag's first input at 10.0 s; the next ones at 10.1, 10.2, 10.3, 10.4
    assert _next_index(plan, 0, inputs, now=10.05) == (1, pytest.approx(10.1))  # no input yet: wait for the next
    assert _next_index(plan, 0, inputs, now=10.25) == (2, pytest.approx(10.2))  # 10.1 is skipped
    assert _next_index(plan, 2, inputs, now=11.0) == (4, pytest.approx(10.4))  # the drag's last input, late
    assert _next_index(plan, 4, inputs, now=11.2) == (5, pytest.approx(12.7))  # a new drag: a pause after the result
    assert _next_index(plan, 5, inputs, now=13.0) == (6, 13.0)  # the plan is done


def test_a_pages_client_lets_an_idle_connection_go_well_before_the_server_does():
    """A request on a connection idle as long as the server's keep-alive can be reset as the server closes it.

    The class test failed so once (``ReadError: [Errno 104] Connection reset by peer``) when the picture client
    kept httpx's default expiry, which equals uvicorn's keep-alive (5 s).
    """
    import inspect

    import uvicorn
    from gradio import http_server

    server_keep_alive_s = inspect.signature(uvicorn.Config).parameters["timeout_keep_alive"].default
    assert "timeout_keep_alive" not in inspect.getsource(http_server)  # gradio starts uvicorn with its default
    assert 0 < PAGE_KEEPALIVE_S <= server_keep_alive_s / 2


def test_a_picture_that_fails_is_named_in_the_learners_error():
    import httpx

    url = "http://127.0.0.1:1/gradio_api/file=/tmp/gradio/0123456789abcdef0123/image.png"
    not_found = httpx.MockTransport(lambda request: httpx.Response(404))
    with (
        httpx.Client(transport=not_found) as http,
        pytest.raises(RuntimeError, match=r"^picture 0123456789ab…: HTTPStatus"),
    ):
        _fetch_picture(http, url)


def test_the_tables_compare_the_class_with_one_learner_alone():
    def phase(events: dict, errors: list[str]) -> dict:
        return {"events": events, "errors": errors, "rss_idle_mib": 1000, "rss_peak_mib": 1500, "max_queue": 3,
                "wall_s": 60.0, "connect_s": 2.0, "load_average_before": [1.0, 1, 1], "load_average_after": [2.5, 2, 1]}  # fmt: skip

    def event(p95_ms: float) -> dict:
        return {"inputs": 60, "events": 12, "event": {"p50_ms": p95_ms / 2, "p95_ms": p95_ms, "max_ms": p95_ms},
                "shown": {"p50_ms": p95_ms, "p95_ms": p95_ms + 50, "max_ms": p95_ms + 60}}  # fmt: skip

    figures = {
        "one scrubbing learner alone": phase({"/corrupt": event(200.0)}, []),
        "the class": phase({"/corrupt": event(1500.0), "/ddpm_noise": event(900.0)}, ["session 3: boom"]),
    }
    events, summary = tables(figures, drags=4, rounds=1)
    assert events.rows[0][-1] == "(baseline)" and events.rows[0][2] == "60 → 12"
    assert events.rows[1][1:] == ["`/corrupt`", "60 → 12", "750 ms", "1.5 s", "1.5 s", "1.6 s", "7.5x"]
    assert events.rows[2][-1] == "—"  # no baseline for /ddpm_noise here
    assert summary.rows[1][:3] == ["the class", "1", "1000 → 1500 MiB"]
    assert "error: session 3: boom" in summary.notes
    assert "1.0 → 2.5" in events.notes[0]


# ----------------------------------------------------------------------------------------------
# The class
# ----------------------------------------------------------------------------------------------


@pytest.mark.api
@pytest.mark.load
@pytest.mark.timeout(1200)  # a few minutes on a quiet 2-core machine; bounded here, never asserted
def test_a_class_of_30_scrubs_and_samples_without_an_error(tmp_path):
    drags = DRAGS // 2
    log = tmp_path / "server.log"
    with app_process(log_path=log) as app:
        result = run_class(app.url, app.pid, drags=drags)
        fresh = client_for(app.url)  # afterwards the server still answers a new session
        try:
            assert len(fresh.predict("mnist", 1, 0.5, None, "en", api_name="/corrupt")) == 6
        finally:
            fresh.close()
    figures = result.figures()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "classroom_test.json").write_text(json.dumps(figures, indent=1, ensure_ascii=False) + "\n")
    # 1. no error, and every learner saw every result it needed
    assert result.errors() == [], result.errors()
    assert (result.sessions("scrub"), result.sessions("sample")) == (SCRUBBERS, SAMPLERS)
    # 2. ...with its pictures: the single image and the rows of each move, the grids of each run
    for record in result.records:
        expected = {"/corruption_frames": 0, "/noising_frames": 0, "/corrupt": 3, "/ddpm_noise": 4, "/mix_sample": 3,
                    "/ddpm_sample": 5}[record.api_name]  # fmt: skip
        assert record.pictures_in_result == expected, record
    for learner in result.learners:
        records = [r for r in result.records if r.session == learner.index]
        assert sum(r.pictures for r in records) >= 2, f"learner {learner.index} saw no new pictures"
        if learner.role == "sample":
            assert [r.api_name for r in records][:2] == ["/mix_sample", "/ddpm_sample"]
            assert all(r.updates > 1 for r in records if r.api_name == "/ddpm_sample"), "a run did not stream"
        else:
            assert {r.index for r in records} >= set(required(learner.plan))
    # 3. the sampling ran while the class scrubbed: every sampling learner's first run began before the last move
    last_move = max(r.start + r.event_s for r in result.of(role="scrub"))
    assert all(r.start < last_move for r in result.of("/mix_sample") if r.index == 0)
    # 4. the queue never filled, the memory stayed bounded, nothing failed on the server
    assert result.max_queue < QUEUE_MAX_SIZE, figures
    assert result.rss_peak_mib < RSS_LIMIT_MIB, f"peak RSS {result.rss_peak_mib:.0f} MiB"
    assert "Traceback" not in log.read_text(errors="replace")
    print(json.dumps({k: v for k, v in figures.items() if k != "errors"}, ensure_ascii=False))
