"""The Sampling tab: handlers with this session's (fresh, tiny) models, the real app through
gradio_client (streaming, bad inputs), and a real Chromium playing a sampling run."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import gradio as gr
import pytest
import torch
from diffusers import DDPMPipeline, DDPMScheduler
from huggingface_hub import constants
from PIL import Image
from tiny import TINY_UNET

from diffusion_core.checkpoints import BASIC_UNET_DIR, DDPM_DIR, load_ddpm_pipeline
from diffusion_core.models import BasicUNet, build_unet2d
from ui.errors import friendly
from ui.sampling_tab import mix, pipeline, scheduler_loop
from ui.sampling_tab.text import TEXT

needs_checkpoints = pytest.mark.skipif(
    not (DDPM_DIR / "model_index.json").is_file() or not (BASIC_UNET_DIR / "model.safetensors").is_file(),
    reason="the bundled checkpoints (assets/checkpoints) are not there",
)


@pytest.fixture(scope="module")
def session_models():
    torch.manual_seed(0)
    scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
    return {
        "basic": BasicUNet().eval(),
        "ddpm": DDPMPipeline(unet=build_unet2d(**TINY_UNET).eval(), scheduler=scheduler),
    }


@pytest.fixture(scope="module")
def untrained_session(app_url):
    """A client of its own: a session that has trained nothing, so runs use the bundled checkpoints (the shared
    ``client`` may hold a model trained by another test file's tests, depending on the order they run in)."""
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    yield client
    client.close()


# ----------------------------------------------------------------------------------------------
# Handlers, with this session's models (no checkpoint needed)
# ----------------------------------------------------------------------------------------------


def test_mix_handler_streams_the_two_column_figure(session_models):
    outputs = list(mix.mix_sample(4, 3, 1, "en", session_models))
    figure, _, _, scrub, state, status, code = outputs[-1]
    assert isinstance(figure, Image.Image) and figure.height > figure.width / 4  # 4 rows of two grids
    assert len(state["x"]) == len(state["pred"]) == 4 and state["x"][0].shape == (3, 1, 28, 28)
    assert scrub["value"] == 4 and scrub["interactive"] is True
    assert "Step 4/4" in status and "this session's trained model" in status
    assert "n_steps = 4" in code and "manual_seed(1)" in code and "torch.rand(3, 1, 28, 28" in code
    # the page's scrubber and player get every step once: x and the prediction per step
    frames = json.loads(mix.mix_frames(state))["frames"]
    assert len(frames) == 4 and all(len(frame["images"]) == 2 for frame in frames)
    assert frames[0]["images"][0] != frames[-1]["images"][0]  # step 1 (noise) differs from step 4


def test_ddpm_handler_streams_frames_and_writes_gif_and_png(session_models):
    outputs = list(scheduler_loop.ddpm_sample("ddim", 6, 5, 2, "en", session_models))
    assert outputs[0][4].startswith("Timing one step") and outputs[1][4].startswith("Estimated **≈")
    assert len(outputs) >= 4  # measuring, the estimate, the first step, then the final state
    assert "Step 1/6" in outputs[2][4]
    _, _, _, curve, status, state, scrub, final, gif, png, code = outputs[-1]
    assert "Step 6/6" in status and "ddim" in status
    assert [frame["step"] for frame in state["frames"]] == list(range(6))
    assert scrub["maximum"] == 6 and scrub["value"] == 6
    assert curve.layout.xaxis.title.text == "timestep t"
    with Image.open(gif) as animation:
        assert animation.n_frames == 7  # six steps and the final image
    with Image.open(png) as grid:
        assert grid.size == final.size
    assert "DDIMScheduler.from_config" in code and "set_timesteps(6)" in code
    frames = json.loads(scheduler_loop.ddpm_frames(state))["frames"]
    assert len(frames) == 6 and frames[0]["text"]["en"].startswith("Step 1/6")


def test_ddpm_handler_keeps_a_bounded_number_of_frames(session_models, monkeypatch):
    monkeypatch.setattr(scheduler_loop, "MAX_KEPT_FRAMES", 8)  # 60 in the app; fewer steps keep the test short
    outputs = list(scheduler_loop.ddpm_sample("ddpm", 20, 1, 0, "zh", session_models))
    state = outputs[-1][5]
    assert len(state["frames"]) == 8  # evenly spaced over the 20 steps, first and last included
    assert state["frames"][0]["step"] == 0 and state["frames"][-1]["step"] == 19 and "第 20/20 步" in outputs[-1][4]


def test_pipeline_handler_and_save_pretrained_zip(session_models, tmp_path):
    *started, (grid, status, _, _) = pipeline.pipeline_sample("session", "", 3, 4, 0, "en", session_models)
    assert [update[1].split(" ")[0] for update in started] == ["Timing", "Estimated"]
    assert isinstance(grid, Image.Image) and "4 images, 3 steps" in status
    archive = pipeline.save_pipeline(session_models, "en")
    with zipfile.ZipFile(archive) as bundle:
        assert "my_pipeline/model_index.json" in bundle.namelist()
        assert any(name.endswith(".safetensors") for name in bundle.namelist())
        bundle.extractall(tmp_path)
    loaded = load_ddpm_pipeline(tmp_path / "my_pipeline")
    assert tuple(loaded.unet.config.block_out_channels) == (8, 16, 16)


def test_session_errors_are_clear():
    with pytest.raises(ValueError, match="has not trained a DDPM model"):
        pipeline.save_pipeline({}, "en")
    with pytest.raises(ValueError, match="has not trained a DDPM model"):
        list(pipeline.pipeline_sample("session", "", 3, 2, 0, "en", {}))


@pytest.mark.parametrize("bogus", ["/etc/passwd", "../assets/checkpoints", "assets/mnist", "a/b/c", "", "x" * 300])
def test_hub_id_must_be_an_id_not_a_path(bogus):
    with pytest.raises(ValueError, match="is not a Hub model id"):
        pipeline.load_hub_pipeline(bogus, "en")


def test_an_offline_hub_is_not_called_invalid_input(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(gr.Error) as info:
        list(friendly(pipeline.pipeline_sample)("hub", "google/ddpm-cifar10-32", 2, 2, 0, "en"))  # a generator
    assert info.value.message.startswith("This server runs offline (HF_HUB_OFFLINE=1)")  # not "Invalid input: ..."
    with pytest.raises(gr.Error, match="离线模式"):
        pipeline.load_hub_pipeline("google/ddpm-cifar10-32", "zh")


def test_section_c_stops_in_the_status_without_a_session_model():
    steps = pipeline.pipeline_prepare("session", "", "zh", {})
    assert next(steps) == ("⚠ " + TEXT["no_session"]["zh"], None)  # the reason in the status, the grid cleared
    with pytest.raises(gr.Error) as stop:
        next(steps)
    assert not stop.value.visible  # it only stops the run: the status already says why
    assert list(pipeline.pipeline_prepare("bundled", "", "en")) == [(gr.skip(), gr.skip())]


# ----------------------------------------------------------------------------------------------
# The real app through gradio_client
# ----------------------------------------------------------------------------------------------


@needs_checkpoints
def test_ddpm_sample_streams_through_the_api(untrained_session):
    job = untrained_session.submit("dpm++", 3, 2, 0, "en", api_name="/ddpm_sample")
    final = job.result(timeout=300)
    streamed = job.outputs()
    assert len(streamed) >= 2
    statuses = [output[4] for output in streamed]
    assert statuses[0].startswith("Timing one step") and statuses[1].startswith("Estimated **≈")
    assert statuses[2].startswith("Step 1/3") and statuses[-1].startswith("Step 3/3")
    assert "bundled checkpoint" in statuses[-1]
    gif, png = final[7], final[8]  # the State output is not part of the API
    assert Path(gif).suffix == ".gif" and Path(png).suffix == ".png"
    with Image.open(png) as grid:
        assert grid.width > 56


@needs_checkpoints
def test_mix_and_pipeline_through_the_api(untrained_session):
    mix = untrained_session.predict(3, 2, 0, "en", api_name="/mix_sample")
    assert "Step 3/3" in mix[-2] and "bundled checkpoint" in mix[-2]
    _, status, code = untrained_session.predict("bundled", "", 2, 2, 0, "en", api_name="/pipeline_sample")
    assert "2 images, 2 steps" in status and "num_inference_steps=2" in code


@pytest.mark.parametrize(
    ("api", "arguments", "message"),
    [
        ("/ddpm_sample", ("dpm++", 0, 2, 0, "en"), "steps must be between 1 and 1000"),
        ("/ddpm_sample", ("dpm++", 3, 10_000, 0, "en"), "batch must be between 1 and 64"),
        ("/ddpm_sample", ("heun", 3, 2, 0, "en"), "heun"),
        ("/mix_sample", (0, 2, 0, "en"), "n_steps must be between 1 and 50"),
        ("/mix_sample", (5, 10_000, 0, "en"), "batch must be between 1 and 64"),
        ("/pipeline_sample", ("hub", "google/ddpm-cifar10-32", 2, 2, 0, "en"), "offline"),
        ("/pipeline_sample", ("hub", "../../etc/passwd", 2, 2, 0, "en"), "is not a Hub model id"),
        ("/pipeline_sample", ("hub", "/tmp", 2, 2, 0, "en"), "is not a Hub model id"),
        ("/pipeline_sample", ("disk", "", 2, 2, 0, "en"), "not in the list of choices"),
    ],
)
def test_bad_inputs_get_clear_errors(client, api, arguments, message):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=message):
        client.predict(*arguments, api_name=api)


# ----------------------------------------------------------------------------------------------
# A real browser
# ----------------------------------------------------------------------------------------------


@needs_checkpoints
def test_browser_plays_a_sampling_run(page, app_url):
    page.goto(app_url + "/?lang=en")
    page.get_by_role("tab", name="Sampling").wait_for(timeout=120_000)  # English (the page may flip late)
    page.get_by_role("tab", name="Sampling").click()
    page.locator("#mix-status").get_by_text("Press").wait_for(timeout=60_000)
    page.locator("#mix-run").click()
    status = page.locator("#mix-status")
    status.get_by_text("Step 5/5").wait_for(timeout=60_000)
    figure = page.locator("#mix-figure img")
    figure.wait_for(timeout=10_000)
    scrub = page.locator("#mix-scrub input[type=number]")
    assert scrub.input_value() == "5"
    # play: the scrubber walks from step 1 to step 5, and the image shown changes with it
    page.evaluate(
        """() => {
            window.seenSteps = []; window.seenImages = new Set();
            setInterval(() => {
                window.seenSteps.push(document.querySelector('#mix-scrub input[type=number]').value);
                const img = document.querySelector('#mix-x img');
                if (img) window.seenImages.add(img.src);
            }, 40);
        }"""
    )
    page.locator("#mix-play").click()
    page.wait_for_function(
        "() => window.seenSteps.includes('1') && window.seenSteps[window.seenSteps.length - 1] === '5'",
        timeout=60_000,
    )
    seen = page.evaluate("() => [...new Set(window.seenSteps)]")
    assert {"1", "5"} <= set(seen) and len(seen) >= 3, seen
    assert page.evaluate("() => window.seenImages.size") >= 3
    # section B: a short DPM-Solver++ run streams frames and ends with downloads
    page.locator("#ddpm-steps input[type=number]").fill("3")
    page.locator("#ddpm-steps input[type=number]").press("Enter")
    page.locator("#ddpm-run").click()
    page.locator("#ddpm-status").get_by_text("Step 3/3").wait_for(timeout=120_000)
    page.locator("#ddpm-png a").first.wait_for(timeout=10_000)
    assert page.locator("#ddpm-xt img").count() == 1 and page.locator("#ddpm-final img").count() == 1


ERROR_BADGES = '[data-testid="status-tracker"] .error'  # Gradio's red "Error" pill on an output of a failed event
VISIBLE_COUNT = "selector => [...document.querySelectorAll(selector)].filter(e => e.checkVisibility({opacityProperty: true, visibilityProperty: true})).length"


@needs_checkpoints
def test_browser_section_c_failures_show_in_the_status_not_as_error_badges(page, app_url, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # the app runs in this process: never the network
    page.goto(app_url)  # the Chinese page: the words below come from the tab's TEXT
    page.locator('button[role="tab"][data-tab-id="sampling"]').click()
    section, status = page.locator("#sample-c"), page.locator("#pipe-status")
    grid = page.locator("#pipe-grid img")
    for field in section.locator("input[type=number]").all()[:2]:
        field.fill("2")  # 2 steps, 2 images
        field.press("Enter")
    done = TEXT["c_status"]["zh"].split("，用时")[0].format(batch=2, steps=2)
    page.locator("#pipe-run").click()
    status.get_by_text(done).wait_for(timeout=120_000)
    grid.wait_for(timeout=10_000)

    def run_and_expect(said: str) -> None:
        page.locator("#pipe-run").click()
        status.get_by_text(said).wait_for(timeout=60_000)
        page.wait_for_timeout(1_500)  # the event ends just after the status: let any badge or toast appear
        assert page.evaluate(VISIBLE_COUNT, f"#sample-c {ERROR_BADGES}") == 0
        assert page.evaluate(VISIBLE_COUNT, ".toast-body") == 0  # the status says it, once
        assert grid.count() == 0  # the old picture does not pass for this run
        assert f"⚠ {said}" in status.inner_text() and "Traceback" not in page.inner_text("body")
        assert "输入有误" not in status.inner_text() and "Invalid input" not in status.inner_text()

    page.locator("#pipe-source label", has_text=TEXT["session"]["zh"]).click()
    run_and_expect(TEXT["no_session"]["zh"])
    page.locator("#pipe-source label", has_text=TEXT["hub"]["zh"]).click()
    run_and_expect(TEXT["hub_offline"]["zh"].format(id="google/ddpm-cifar10-32"))
    page.locator("#pipe-hub textarea, #pipe-hub input").first.fill("../etc/passwd")
    run_and_expect(TEXT["bad_hub_id"]["zh"].format(id="../etc/passwd"))
    # and a good run afterwards is a normal run again
    page.locator("#pipe-source label", has_text=TEXT["bundled"]["zh"]).click()
    page.locator("#pipe-run").click()
    status.get_by_text(done).wait_for(timeout=120_000)
    grid.wait_for(timeout=10_000)
