"""Scrubbing in the page (issue 15): the amount and t sliders redraw in Chromium with no server request,
and the page's frames equal the core's ``corrupt`` and ``add_noise`` within 1/255.

The page's frames are read back from its canvases (``getImageData``) and compared with the core's own
computation for the same digits, seed and amount or t, drawn by the core's ``to_image`` at scale 1.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffusion_core.benchmarks.language import OpenRequests
from diffusion_core.checkpoints import BASIC_UNET_DIR, DDPM_DIR
from diffusion_core.corruption import corrupt
from diffusion_core.data import mnist_batch, to_model_range
from diffusion_core.figures import to_image
from diffusion_core.noising import add_noise, draw_noise, make_scheduler

pytestmark = pytest.mark.e2e

MOVES = 50
TABS = {
    "zh": {"corruption": "① 损坏过程", "noising": "② DDPM 加噪"},
    "en": {"corruption": "① Corruption", "noising": "② DDPM noising"},
}

# The grey values of a view's canvases: the single image (H*W) and the batch row (with its padding).
PIXELS_JS = """(id) => {
    const box = document.querySelector(`#${id} .dx-scrub`);
    const read = (canvas) => Array.from(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data)
        .filter((_, i) => i % 4 === 0);
    return {single: read(box.querySelector('.dx-single')), row: read(box.querySelector('.dx-row')),
            width: box.querySelector('.dx-single').width, value: Number(box.dataset.value),
            drawn: Number(box.dataset.drawn), formula: box.querySelector('.dx-formula').innerText};
}"""


def open_view(page, app_url: str, tab: str, view: str, lang: str = "zh") -> None:
    page.goto(f"{app_url}/?lang={lang}")
    page.get_by_role("tab", name=TABS[lang][tab]).click()
    page.wait_for_function("(id) => document.querySelector(`#${id} .dx-scrub[data-drawn]`)", arg=view)
    # the server's part of the tab (strips, charts) is drawn when the tab first opens (ui.lazy_views): wait for
    # its pictures, so that their downloads are not counted as requests of the scrubbing
    rows = {"corrupt-view": 2, "ddpm-view": 3}[view]  # the image rows the server draws below the view
    page.wait_for_function(
        "(n) => { const images = Array.from(document.querySelectorAll('.pixelated img'))"
        "  .filter((image) => image.offsetParent !== null);"
        " return images.length >= n && images.every((image) => image.complete && image.naturalWidth > 0); }",
        arg=rows,
    )


def counted(requests: list[str]):
    """A ``page.on("request")`` listener that appends every URL but the font files to ``requests``: the browser
    fetches a typeface the first time a glyph of it is painted (the tab's lesson, KaTeX), whenever that is."""
    return lambda request: None if request.url.endswith((".woff2", ".woff", ".ttf")) else requests.append(request.url)


def scrub(page, slider_id: str, view: str, moves: int = MOVES) -> tuple[list[str], list[dict]]:
    """Press → ``moves`` times on the slider; after each, wait for the view's redraw and read it.

    Returns:
        (the URLs of every request the page made meanwhile, the view read after each move).
    """
    requests: list[str] = []
    page.on("request", counted(requests))
    slider = page.locator(f"#{slider_id} input[type=range]").first
    slider.focus()
    frames = []
    for _ in range(moves):
        drawn = page.evaluate(PIXELS_JS, view)["drawn"]
        slider.press("ArrowRight")
        page.wait_for_function(
            "([id, n]) => Number(document.querySelector(`#${id} .dx-scrub`).dataset.drawn) > n", arg=[view, drawn]
        )
        frames.append(page.evaluate(PIXELS_JS, view))
    return list(requests), frames


def assert_changes_every_time(frames: list[dict], first: dict) -> None:
    previous = first
    for index, frame in enumerate(frames):
        assert frame["value"] != previous["value"], f"move {index + 1} did not move the value"
        assert frame["single"] + frame["row"] != previous["single"] + previous["row"], f"move {index + 1}: same image"
        previous = frame


def digits(seed: int = 0) -> torch.Tensor:
    return mnist_batch(8, seed)[0]  # (8, 1, 28, 28) in [0, 1], the tab's default batch


def as_bytes(image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16).reshape(-1)


def test_amount_scrubs_in_the_page_and_matches_the_core(page, app_url):
    open_view(page, app_url, "corruption", "corrupt-view")
    first = page.evaluate(PIXELS_JS, "corrupt-view")
    requests, frames = scrub(page, "corrupt-amount", "corrupt-view")

    assert requests == [], f"{len(requests)} requests reached the server while scrubbing: {requests[:5]}"
    assert_changes_every_time(frames, first)
    last = frames[-1]
    assert last["value"] == pytest.approx(0.3 + MOVES * 0.01)
    assert f"{last['value']:.2f}" in last["formula"]

    # the core's corrupt() for the same digits, noise and amount, drawn by the core's to_image at scale 1
    x = digits()
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(0))
    mixed = corrupt(x, last["value"], noise=noise)
    single = as_bytes(to_image(mixed[0], scale=1))
    row = as_bytes(to_image(mixed, scale=1))
    assert np.abs(np.array(last["single"]) - single).max() <= 1, "the single frame differs from corrupt() by > 1/255"
    assert np.abs(np.array(last["row"]) - row).max() <= 1, "the batch row differs from corrupt() by > 1/255"
    assert f"{float(mixed.min()):.3f}" in last["formula"] and f"{float(mixed.max()):.3f}" in last["formula"]

    # letting go of the slider (the focus leaves it) asks the server once for the histogram
    page.locator("#corrupt-amount input[type=range]").first.evaluate("(slider) => slider.blur()")
    page.wait_for_function(
        "(a) => document.querySelector('#corrupt-histogram').innerText.includes(`amount = ${a}`)",
        arg=f"{last['value']:.2f}",
    )


def test_timestep_scrubs_in_the_page_and_matches_the_core(page, app_url):
    open_view(page, app_url, "noising", "ddpm-view")
    first = page.evaluate(PIXELS_JS, "ddpm-view")
    cursor_before = page.locator("#ddpm-view .dx-cursor").get_attribute("x1")
    requests, frames = scrub(page, "ddpm-t", "ddpm-view")

    assert requests == [], f"{len(requests)} requests reached the server while scrubbing: {requests[:5]}"
    assert_changes_every_time(frames, first)
    last = frames[-1]
    t = int(last["value"])
    assert t == 250 + MOVES
    assert f"t = {t}" in last["formula"]
    assert page.locator("#ddpm-view .dx-cursor").get_attribute("x1") != cursor_before, "the chart's cursor stayed"

    x0 = to_model_range(digits())
    noise = draw_noise(tuple(x0.shape), "randn", torch.Generator().manual_seed(0))
    scheduler = make_scheduler()
    x_t, _ = add_noise(x0, t, scheduler, noise=noise)
    single = as_bytes(to_image(x_t[0], value_range=(-1, 1), scale=1))
    row = as_bytes(to_image(x_t, value_range=(-1, 1), scale=1))
    assert np.abs(np.array(last["single"]) - single).max() <= 1, "the single frame differs from add_noise() by > 1/255"
    assert np.abs(np.array(last["row"]) - row).max() <= 1, "the batch row differs from add_noise() by > 1/255"
    alpha_bar = float(scheduler.alphas_cumprod[t])
    assert f"{alpha_bar**0.5:.4f}" in last["formula"]


def test_new_data_come_in_one_response_and_the_formula_follows_the_language(page, app_url):
    open_view(page, app_url, "noising", "ddpm-view")
    frames_calls: list[str] = []
    page.on("request", lambda request: frames_calls.append(request.url) if "queue/join" in request.url else None)
    before = page.evaluate(PIXELS_JS, "ddpm-view")
    page.locator("#ddpm-noise-kind label").nth(1).click()  # uniform noise: new data from the server
    page.wait_for_function(
        "(n) => Number(document.querySelector('#ddpm-view .dx-scrub').dataset.drawn) > n", arg=before["drawn"]
    )
    assert page.evaluate(PIXELS_JS, "ddpm-view")["single"] != before["single"]
    assert frames_calls, "changing the noise kind asked nothing of the server"
    assert "当前" in page.locator("#ddpm-view .dx-formula").inner_text()
    page.locator("#language label").nth(1).click()  # English, switched in the page
    page.wait_for_function("() => document.querySelector('#ddpm-view .dx-formula').innerText.startsWith('x')")
    page.wait_for_function("() => document.querySelector('#ddpm-view .dx-formula').innerText.includes('At t =')")
    assert "Noise levels" in page.locator("#ddpm-view .dx-chart").inner_html()


# ----------------------------------------------------------------------------------------------
# Sampling: a finished run's steps are scrubbed and played in the page
# ----------------------------------------------------------------------------------------------

needs_checkpoints = pytest.mark.skipif(
    not (DDPM_DIR / "model_index.json").is_file() or not (BASIC_UNET_DIR / "model.safetensors").is_file(),
    reason="the bundled checkpoints (assets/checkpoints) are not there",
)
STORED = "([id, n]) => ((window.dxScrub || {}).frames || {})[id] === n"


def step_back(page, slider_id: str, image_id: str, moves: int) -> list[str]:
    """Press ← ``moves`` times on a run's scrubber; after each, wait for the shown image to change.

    Returns:
        the image's src after each move.
    """
    slider = page.locator(f"#{slider_id} input[type=range]").first
    slider.focus()
    seen = []
    for _ in range(moves):
        before = page.locator(f"#{image_id} img").first.get_attribute("src")
        slider.press("ArrowLeft")
        page.wait_for_function(
            "([id, old]) => document.querySelector(`#${id} img`).src !== old", arg=[image_id, before]
        )
        seen.append(page.locator(f"#{image_id} img").first.get_attribute("src"))
    return seen


@needs_checkpoints
def test_sampling_scrubbers_and_player_work_in_the_page(page, app_url):
    open_requests = OpenRequests(page)
    page.goto(app_url + "/?lang=en")
    page.get_by_role("tab", name="Sampling").wait_for(timeout=120_000)
    page.get_by_role("tab", name="Sampling").click()
    page.locator("#mix-status").get_by_text("Press").wait_for(timeout=60_000)
    page.locator("#mix-run").click()
    page.locator("#mix-status").get_by_text("Step 5/5").wait_for(timeout=60_000)
    page.wait_for_function(STORED, arg=["mix-frames", 5], timeout=60_000)  # the 5 steps, sent once
    open_requests.wait_until_quiet(page)  # the page load's language switch may still be redrawing other views

    requests: list[str] = []
    page.on("request", counted(requests))
    seen = step_back(page, "mix-scrub", "mix-x", 4)  # step 5 -> 1
    assert len(set(seen)) == 4 and all(src.startswith("data:image/png") for src in seen)
    assert page.locator("#mix-scrub input[type=number]").input_value() == "1"
    page.evaluate(
        """() => { window.seenImages = new Set();
            window.watching = setInterval(() => window.seenImages.add(document.querySelector('#mix-x img').src), 20); }"""
    )
    page.locator("#mix-play").click()
    page.wait_for_function("() => document.querySelector('#mix-scrub input[type=number]').value === '5'")
    assert page.evaluate("() => window.seenImages.size") >= 3
    assert requests == [], f"scrubbing or playing section A asked the server: {requests[:5]}"

    # section B: a 3-step run, then its kept frames are scrubbed in the page
    page.locator("#ddpm-steps input[type=number]").fill("3")
    page.locator("#ddpm-steps input[type=number]").press("Enter")
    page.locator("#ddpm-run").click()
    page.locator("#ddpm-status").get_by_text("Step 3/3").wait_for(timeout=120_000)
    page.wait_for_function(STORED, arg=["ddpm-frames", 3], timeout=60_000)
    requests.clear()
    seen = step_back(page, "ddpm-scrub", "ddpm-xt", 2)  # frame 3 -> 1
    assert len(set(seen)) == 2
    caption = page.locator("#ddpm-status").inner_text()
    assert "Step 1/3" in caption, caption
    assert requests == [], f"scrubbing section B asked the server: {requests[:5]}"
    # letting go of the scrubber moves the alpha_bar chart's cursor to the frame's t (one request)
    t = caption.split("t = ")[1].split()[0].rstrip(",.")
    assert f"t = {t}," not in page.locator("#sample-curve").inner_text()
    page.locator("#ddpm-scrub input[type=range]").first.evaluate("(slider) => slider.blur()")
    page.wait_for_function("(t) => document.querySelector('#sample-curve').innerText.includes(`t = ${t},`)", arg=t)
