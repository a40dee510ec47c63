"""A fair share of one server (``ui.runs``) through the real app: a run above the cap is refused with its
estimate, a session holds one heavy run at a time, Stop ends a sampling run and keeps what it made."""

from __future__ import annotations

import re
import time

import pytest
import torch
from diffusers import DDPMPipeline, DDPMScheduler
from gradio_client import Client
from gradio_client.exceptions import AppError
from tiny import TINY_UNET

from diffusion_core.checkpoints import BASIC_UNET_DIR, DDPM_DIR
from diffusion_core.estimates import RUN_CAP_ENV
from diffusion_core.models import build_unet2d
from ui import runs
from ui.sampling_tab import scheduler_loop

needs_checkpoints = pytest.mark.skipif(
    not (DDPM_DIR / "model_index.json").is_file() or not (BASIC_UNET_DIR / "model.safetensors").is_file(),
    reason="the bundled checkpoints (assets/checkpoints) are not there",
)

TRAIN = {"kind": "basic", "data": "mnist", "uploads": None, "rgb": False, "steps": 5000, "batch": 8, "lr": 1e-3,
         "seed": 0, "preview_every": 10, "log_scale": False, "lang": "en"}  # fmt: skip


def _wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _statuses(job, index: int) -> list[str]:
    return [out[index] for out in job.outputs() if isinstance(out, (list, tuple)) and len(out) > index]


# ----------------------------------------------------------------------------------------------
# The handler, with a session of its own (no server)
# ----------------------------------------------------------------------------------------------


CJK = re.compile(r"[\u3400-\u9fff]")


class Session:
    """What a handler reads of ``gr.Request``: the session hash."""

    def __init__(self, session_hash: str):
        self.session_hash = session_hash


def test_stop_ends_a_run_after_its_step_and_keeps_the_frames():
    torch.manual_seed(0)
    models = {"ddpm": DDPMPipeline(unet=build_unet2d(**TINY_UNET).eval(), scheduler=DDPMScheduler())}
    request = Session("stop-test")
    run = scheduler_loop.ddpm_sample("ddpm", 1000, 2, 0, "en", models, request)
    for output in run:
        if output[4].startswith("Step 1/1000"):  # the first streamed step: press Stop now
            assert runs.request_stop(request, "sample") and not runs.request_stop(request, "train")
            break
    *_, last = run
    status, state, scrub, final = last[4], last[5], last[6], last[7]
    assert "Stopped at step" in status and "of 1000" in status
    stopped_at = int(status.split("Stopped at step ")[1].split(" ")[0])
    assert 1 <= stopped_at < 1000
    assert state["frames"][-1]["step"] == stopped_at - 1 and scrub["maximum"] == len(state["frames"])
    assert final is not None
    assert runs.running(request, "sample") is None  # the slot is free again
    again = list(scheduler_loop.ddpm_sample("dpm++", 2, 1, 0, "en", models, request))
    assert again[-1][4].startswith("Step 2/2")  # a Stop pressed during the last run does not stop this one


def test_a_language_switch_during_a_run_words_its_later_lines_in_the_new_language():
    """A run started in Chinese and switched to English (``runs.follow_language``, the page's first language
    listener) streams its later lines and ends in English; another session's run keeps its own language."""
    torch.manual_seed(0)
    models = {"ddpm": DDPMPipeline(unet=build_unet2d(**TINY_UNET).eval(), scheduler=DDPMScheduler())}
    request, other = Session("switch-test"), Session("other-session")
    run = scheduler_loop.ddpm_sample("ddim", 30, 2, 0, "zh", models, request)
    first = next(run)[4]
    with runs.heavy_run(other, "sample", "zh") as others:
        runs.follow_language("en", request)
        runs.follow_language("klingon", other)  # not a language of the page: the default, Chinese
        assert others.lang == "zh" and runs.running(request, "sample").lang == "en"
    *_, last = run
    assert CJK.search(first) and last[4].startswith("Step 30/30") and not CJK.search(last[4]), last[4]
    assert set(last[5]["status"]) == {"zh", "en"}  # both kept, for the next switch
    runs.follow_language("en", request)  # no run now: nothing to do, nothing kept
    assert runs.running(request, "sample") is None


def test_a_language_switch_during_a_run_re_words_its_line_not_the_last_runs_status():
    """Section C streams nothing while DDPMPipeline runs. A switch during its run re-words the line it shows
    (its estimate) in the new language; the section's last run's status, kept in its state, is not shown over
    the running one. The other sections re-word their own last runs, and another session's switch is its own."""
    from ui.sampling_tab import pipeline
    from ui.sampling_tab.shared import SECTIONS, status_in_language

    torch.manual_seed(0)
    models = {"ddpm": DDPMPipeline(unet=build_unet2d(**TINY_UNET).eval(), scheduler=DDPMScheduler())}
    request, other = Session("c-switch-test"), Session("another-session")
    *_, first = pipeline.pipeline_sample("session", "", 2, 1, 0, "zh", models, request=request)
    last_status = first[3]  # {"status": {"zh": ..., "en": ...}}: what the section's switch re-words after a run
    run = pipeline.pipeline_sample("session", "", 2, 1, 1, "zh", models, request=request)
    measuring, estimated = next(run)[1], next(run)[1]  # the run is admitted: DDPMPipeline runs next
    assert CJK.search(measuring) and CJK.search(estimated)
    switch_c, switch_b = status_in_language(SECTIONS["c"]), status_in_language(SECTIONS["b"])
    running_line = switch_c(estimated, last_status, "en", request)
    assert running_line == runs.estimate_line(runs.running(request, "sample").estimate, "en"), running_line
    assert running_line != last_status["status"]["en"] and not CJK.search(running_line)
    assert switch_b("", last_status, "en", request) == last_status["status"]["en"]  # not B's run: its last one
    assert switch_c("", last_status, "en", other) == last_status["status"]["en"]  # no run in that session
    *_, done = run
    assert switch_c(done[1], done[3], "en", request) == done[3]["status"]["en"]  # ended: its own status


@needs_checkpoints
def test_stop_ends_the_live_quality_recompute_and_keeps_its_points():
    from ui.compare_tab import quality

    request = Session("quality-stop-test")
    run = quality.quality(["ddim"], [1, 2, 5], 8, 0, "en", request=request)
    for output in run:
        if isinstance(output[1], str) and "Partial result: 1 of 3" in output[1]:  # the first point
            assert runs.request_stop(request, "sample")
            break
    *_, last = run
    summary, live = last[1], last[4]
    assert "Partial result: 2 of 3" in summary and "Stopped after point 2 of 3" in summary, summary
    assert len(live["points"]) == 2 and runs.running(request, "sample") is None
    assert quality.quality_view(live, "zh")[1].count("第 2/3 个点之后停止") == 1  # re-worded on a switch too


# ----------------------------------------------------------------------------------------------
# The real app through gradio_client
# ----------------------------------------------------------------------------------------------


@needs_checkpoints
def test_runs_above_the_cap_are_refused_with_their_estimate(client, monkeypatch):
    monkeypatch.setenv(RUN_CAP_ENV, "2")
    with pytest.raises(AppError, match=r"would take about .+ per step × 1000 steps, batch 4.+limit of 2\.0 s"):
        client.predict("ddpm", 1000, 4, 0, "en", api_name="/ddpm_sample")
    with pytest.raises(AppError, match=r"预计需要约 .+超过了本服务器每次运行的上限 2\.0 秒"):
        client.predict("bundled", "", 1000, 4, 0, "zh", api_name="/pipeline_sample")
    with pytest.raises(AppError, match=r"would take about .+ × 5000 steps, batch 8.+limit of 2\.0 s"):
        client.predict(*TRAIN.values(), api_name="/train")
    monkeypatch.delenv(RUN_CAP_ENV)
    status = client.predict(2, 1, 0, "en", api_name="/mix_sample")[-2]  # under the default cap: runs
    assert "Step 2/2" in status and "Estimated **≈" in status


@needs_checkpoints
def test_a_session_holds_one_run_of_each_kind_at_a_time(app_url):
    """One sampling and one training run per session: never two slots of the same pool, but a learner
    may sample while their model trains."""
    mine, other = Client(app_url, verbose=False), Client(app_url, verbose=False)  # two sessions
    long_run = mine.submit("ddpm", 1000, 1, 0, "en", api_name="/ddpm_sample")
    _wait_for(lambda: any(s.startswith("Step") for s in _statuses(long_run, 4)), 180, "the first step")
    with pytest.raises(AppError, match="You already have a sampling run in progress"):
        mine.predict("dpm++", 2, 1, 0, "en", api_name="/ddpm_sample")
    with pytest.raises(AppError, match="你已有一个采样在运行"):
        mine.predict(2, 1, 0, "zh", api_name="/mix_sample")
    mine.predict(*{**TRAIN, "steps": 2}.values(), api_name="/train")  # a training run of the same session runs
    assert other.predict(2, 1, 0, "en", api_name="/mix_sample")[-2].startswith("Step 2/2")  # others are not held
    long_run.cancel()  # an API client's way out: the run closes and frees the session's slot
    _wait_for(long_run.done, 60, "the cancelled run to end")

    def runs_again() -> bool:
        try:
            return mine.predict(2, 1, 0, "en", api_name="/mix_sample")[-2].startswith("Step 2/2")
        except AppError as error:
            assert "already have" in str(error)
            return False

    _wait_for(runs_again, 30, "the slot to be free")


# ----------------------------------------------------------------------------------------------
# A real browser
# ----------------------------------------------------------------------------------------------


def _set_slider(page, slider: str, value: str) -> None:
    box = page.locator(f"{slider} input[type=number]")
    box.fill(value)
    box.press("Enter")
    page.wait_for_function(f"() => document.querySelector('{slider} input[type=range]').value === '{value}'")


def _no_error_toast(page) -> None:
    assert page.locator(".toast-body.error").count() == 0, page.locator(".toast-body").all_inner_texts()


@needs_checkpoints
def test_browser_stop_ends_sampling_and_keeps_the_frames(page, app_url, monkeypatch):
    monkeypatch.setenv(RUN_CAP_ENV, "100000")  # a busy 2-core machine may estimate 1000 steps above 10 minutes
    page.goto(app_url + "/?lang=en")
    page.get_by_role("tab", name="Sampling").wait_for(timeout=120_000)  # English (the page may flip late)
    page.get_by_role("tab", name="Sampling").click()
    page.locator("#ddpm-status").get_by_text("Press").wait_for(timeout=60_000)  # the idle hint, in English
    # section B: 1000 DDPM steps, stopped after the first streamed step
    page.locator("#ddpm-scheduler").get_by_text("DDPM (the original, many steps)").click()
    _set_slider(page, "#ddpm-steps", "1000")
    page.locator("#ddpm-run").click()
    status = page.locator("#ddpm-status")
    status.get_by_text("/1000").wait_for(timeout=120_000)  # "Step k/1000 ... 3 s of ≈ 9 min 40 s"
    assert "≈" in status.inner_text()
    # a JS click: a page busy drawing streamed frames on a loaded 2-core machine can miss Playwright's
    # stability checks for longer than a run takes; the Stop button's own click handler runs either way
    page.locator("#ddpm-stop").dispatch_event("click")
    status.get_by_text("Stopped at step").wait_for(timeout=60_000)
    assert "of 1000" in status.inner_text()
    for frame in ("#ddpm-xt", "#ddpm-pred", "#ddpm-noise", "#ddpm-final"):
        assert page.locator(f"{frame} img").count() == 1, frame
    page.locator("#ddpm-png a").first.wait_for(timeout=10_000)
    _no_error_toast(page)
    # section C: DDPMPipeline with 1000 steps, stopped once its estimate is shown
    _set_slider(page, "#pipe-steps", "1000")
    page.locator("#pipe-run").click()
    pipe_status = page.locator("#pipe-status")
    pipe_status.get_by_text("Estimated").wait_for(timeout=120_000)
    time.sleep(1)  # a step or two
    page.locator("#pipe-stop").dispatch_event("click")
    pipe_status.get_by_text("Stopped at step").wait_for(timeout=60_000)
    assert page.locator("#pipe-grid img").count() == 1
    _no_error_toast(page)
