"""A tour of the whole app in a real headless Chromium: one test per tab, one screenshot per tab.

Each test drives one tab the way a learner would (sliders, radios, uploads, buttons, downloads)
and asserts what the page then shows. The ``page`` fixture (``conftest.py``) fails a test on any
console error or failed request; every test also saves ``test-artifacts/tour-<tab>.png``.
The existing browser tests (``test_forward_tabs_browser.py``, the browser tests in
``test_inside_tab.py`` and ``test_sampling_tab.py``) cover the timestep slider, the 30-pixel
height, the mix sampler's play button and the tab-1/2 language switch; this tour covers the rest.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import ARTIFACTS
from PIL import Image
from test_forward_tabs_browser import set_slider

pytestmark = pytest.mark.e2e

LONG = 120_000  # ms: training and sampling on a slow, shared 2-core CPU


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


def open_tab(page, app_url: str, name: str, lang: str = "zh") -> None:
    page.goto(f"{app_url}/?lang={lang}")
    page.get_by_role("tab", name=name).click()


def screenshot(page, tab: str) -> Path:
    """Save ``test-artifacts/tour-<tab>.png`` (the whole page) after closing any toast."""
    for button in page.locator("button.toast-close").all():
        if button.is_visible():
            button.click()
    page.wait_for_function("() => !document.querySelector('.toast-body')", timeout=10_000)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"tour-{tab}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def text(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id}").inner_text()


def wait_for_text(page, elem_id: str, needle: str, timeout: float = 30_000) -> str:
    page.wait_for_function(
        "([id, needle]) => { const e = document.getElementById(id); return e && e.innerText.includes(needle); }",
        arg=[elem_id, needle],
        timeout=timeout,
    )
    return text(page, elem_id)


def plot_traces(page, elem_id: str) -> list[dict]:
    """The traces plotly drew in ``#elem_id`` as ``{name, x, y}`` (arrays as JSON text)."""
    return page.evaluate(
        """(id) => {
            const plot = document.querySelector(`#${id} .js-plotly-plot`);
            return plot && plot.data ? plot.data.map(t => ({name: t.name || '', n: t.x ? t.x.length : 0,
                x: JSON.stringify(t.x || null), y: JSON.stringify(t.y || null)})) : [];
        }""",
        elem_id,
    )


def wait_for_plot(page, elem_id: str, timeout: float = 30_000) -> None:
    page.locator(f"#{elem_id} .js-plotly-plot").first.wait_for(timeout=timeout)


def record_changes(page, key: str, selector: str) -> None:
    """Record every distinct ``src`` (img) or innerText (else) that ``selector`` takes from now on.

    A MutationObserver sees each streamed update, however short-lived, not only what a poll
    happens to catch. Read the list back with ``recorded(page, key)``.
    """
    page.evaluate(
        """([key, selector]) => {
            window.__seen = window.__seen || {};
            const seen = window.__seen[key] = [];
            const read = () => {
                const e = document.querySelector(selector);
                if (!e) return;
                const value = e.tagName === 'IMG' ? e.getAttribute('src') : e.innerText;
                if (value && seen[seen.length - 1] !== value) seen.push(value);
            };
            read();
            new MutationObserver(read).observe(document.body,
                {subtree: true, childList: true, attributes: true, characterData: true});
        }""",
        [key, selector],
    )


def recorded(page, key: str) -> list[str]:
    return page.evaluate("(key) => window.__seen[key]", key)


def wait_for_view(page, elem_id: str, drawn: int = 0, timeout: float = 60_000) -> int:
    """Wait until the page-side view ``elem_id`` (ui.client_scrub) has drawn more than ``drawn`` times."""
    page.wait_for_function(
        "([id, n]) => Number((document.querySelector(`#${id} .dx-scrub`) || {dataset: {}}).dataset.drawn || 0) > n",
        arg=[elem_id, drawn],
        timeout=timeout,
    )
    return int(page.locator(f"#{elem_id} .dx-scrub").get_attribute("data-drawn"))


def view_size(page, elem_id: str) -> list[int]:
    return page.evaluate(
        "(id) => { const c = document.querySelector(`#${id} .dx-single`); return [c.width, c.height]; }", elem_id
    )


def wait_for_view_text(page, elem_id: str, needle: str, timeout: float = 30_000) -> str:
    page.wait_for_function(
        "([id, needle]) => document.querySelector(`#${id} .dx-formula`).innerText.includes(needle)",
        arg=[elem_id, needle],
        timeout=timeout,
    )
    return page.locator(f"#{elem_id} .dx-formula").inner_text()


def natural_size(page, selector: str) -> tuple[int, int]:
    return tuple(
        page.evaluate(
            "(s) => { const i = document.querySelector(s); return [i.naturalWidth, i.naturalHeight]; }", selector
        )
    )


def download(page, link_selector: str, tmp_path: Path) -> Path:
    """Click a download link as a user does and return the saved file."""
    with page.expect_download(timeout=30_000) as info:
        page.locator(link_selector).first.click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    return saved


def assert_no_traceback(page) -> None:
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and 'File "' not in body


# ----------------------------------------------------------------------------------------------
# ① Corruption: an uploaded picture and the amount slider
# ----------------------------------------------------------------------------------------------


def test_tour_corruption_upload_and_amount(page, app_url, tmp_path):
    picture = np.zeros((24, 40, 3), np.uint8)  # 40 wide, 24 high: not MNIST's square
    picture[..., 0] = np.linspace(0, 255, 40, dtype=np.uint8)[None, :]
    picture[6:18, 10:30, 2] = 255
    path = tmp_path / "stripes.png"
    Image.fromarray(picture).save(path)

    open_tab(page, app_url, "① 损坏过程")
    drawn = wait_for_view(page, "corrupt-view")
    wait_for_plot(page, "corrupt-histogram")
    assert view_size(page, "corrupt-view") == [28, 28]  # the page draws the digit at its own size

    page.locator("label", has_text="上传自己的图片").first.click()
    page.locator("input[type=file]").first.set_input_files(str(path))
    drawn = wait_for_view(page, "corrupt-view", drawn, timeout=30_000)
    page.wait_for_function("() => document.querySelector('#corrupt-view .dx-single').width === 40")
    width, height = view_size(page, "corrupt-view")
    assert (width, height) == (40, 24), f"the shown image {width}x{height} is not the 40x24 upload"
    # read in the same page call as the wait: the strip's picture may be replaced (and be 0x0 while it loads)
    strip = page.wait_for_function(
        """() => { const i = document.querySelector('#corrupt-strip img');
                   return i.complete && i.naturalWidth > 6 * 40 && [i.naturalWidth, i.naturalHeight]; }"""
    ).json_value()
    strip_width, strip_height = strip
    assert strip_width > 6 * strip_height  # eight 40x24 pictures side by side

    set_slider(page, "corrupt-amount", 0.75)
    formula = wait_for_view_text(page, "corrupt-view", "75%")
    assert "25%" in formula  # the share of the input that is kept
    assert_no_traceback(page)
    screenshot(page, "corruption")


# ----------------------------------------------------------------------------------------------
# ② DDPM noising: the beta schedule, the timestep, the noise-level chart
# ----------------------------------------------------------------------------------------------


def bold_signal_curve(traces: list[dict]) -> dict:
    return next(t for t in traces if t["name"].startswith("√ᾱ_t"))


def test_tour_noising_schedule_and_timestep(page, app_url):
    open_tab(page, app_url, "② DDPM 加噪")
    drawn = wait_for_view(page, "ddpm-view")
    chart = "#ddpm-view .dx-chart"
    assert "linear" in page.locator(f"{chart} .dx-title").text_content()
    assert page.locator(f"{chart} polyline[stroke='#9ca3af']").count() == 4  # the other two schedules, faint
    linear_curve = page.locator(f"{chart} polyline[stroke='#2563eb']").get_attribute("points")
    formula = page.locator("#ddpm-view .dx-formula").inner_text()

    page.locator("#ddpm-schedule label", has_text="squaredcos_cap_v2").click()
    drawn = wait_for_view(page, "ddpm-view", drawn)
    page.wait_for_function(f"() => document.querySelector('{chart} .dx-title').textContent.includes('squaredcos')")
    assert page.locator(f"{chart} polyline[stroke='#2563eb']").get_attribute("points") != linear_curve
    assert page.locator("#ddpm-view .dx-formula").inner_text() != formula

    cursor = page.locator(f"{chart} .dx-cursor").get_attribute("x1")
    set_slider(page, "ddpm-t", 700)
    wait_for_view_text(page, "ddpm-view", "t = 700")
    assert page.locator(f"{chart} .dx-cursor").get_attribute("x1") != cursor
    wait_for_plot(page, "ddpm-histogram")
    assert_no_traceback(page)
    screenshot(page, "noising")


# ----------------------------------------------------------------------------------------------
# ③ Inside the UNet: a size the skips cannot add, an out-of-range size, a valid one
# ----------------------------------------------------------------------------------------------


def test_tour_inside_invalid_then_valid_sizes(page, app_url):
    open_tab(page, app_url, "③ 内部结构")
    wait_for_text(page, "inside-summary", "309,057")
    table_28 = text(page, "inside-table")
    anatomy_28 = text(page, "inside-anatomy")
    assert "[8, 32, 14, 14]" in table_28

    # 30 wide: 30 -> 15 -> 7, and upsampling 7 gives 14, not 15: the second skip cannot be added
    set_slider(page, "inside-width", 30)
    summary = wait_for_text(page, "inside-summary", "❌", timeout=60_000)
    assert "15" in summary and "14" in summary
    page.wait_for_function("() => document.querySelector('#inside-table').innerText.includes('✗')")
    assert "[8, 1, 28, 30]" in text(page, "inside-table")
    assert_no_traceback(page)

    # beyond the slider's range: a clear message naming the widget, not a traceback
    set_slider(page, "inside-width", 300)
    toast = page.locator(".toast-body", has_text="width must be between 4 and 256")
    toast.first.wait_for(timeout=30_000)
    assert "Invalid input" in toast.first.inner_text()
    assert_no_traceback(page)

    # a valid size: the walk succeeds and every row of the table follows
    set_slider(page, "inside-width", 20)
    summary = wait_for_text(page, "inside-summary", "[8, 1, 28, 20]", timeout=60_000)
    assert "✓" in summary and "❌" not in summary  # (innerText may begin with the progress timer)
    page.wait_for_function("() => document.querySelector('#inside-table').innerText.includes('[8, 32, 14, 10]')")
    table_20 = text(page, "inside-table")
    assert "✗" not in table_20 and table_20 != table_28
    wait_for_text(page, "inside-time-path", "[8, 1, 28, 20]", timeout=60_000)  # UNet2DModel's walk, same input
    assert text(page, "inside-anatomy") != anatomy_28

    # three channels: the first convolution now takes 3 channels in
    page.locator("#inside-channels label", has_text="3").click()
    wait_for_text(page, "inside-summary", "[8, 3, 28, 20]", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#inside-table').innerText.includes('Conv2d(3→32')")
    page.locator("#inside-diagram .main-svg").first.wait_for()
    screenshot(page, "inside")


# ----------------------------------------------------------------------------------------------
# ④ Training: start, watch the stream, stop, download the weights
# ----------------------------------------------------------------------------------------------


def status_step(status: str) -> int:
    match = re.search(r"第 (\d+) / 5000 步", status)
    assert match, f"no step in the status: {status!r}"
    return int(match.group(1))


def test_tour_training_start_stop_download(page, app_url, tmp_path):
    from safetensors.torch import load_file

    from diffusion_core.training import build_model

    open_tab(page, app_url, "④ 训练")
    page.locator("#train-start").wait_for()
    assert "还没开始训练" in text(page, "train-status")
    set_slider(page, "train-steps", 5000)  # more than the test waits for: it must be stopped
    set_slider(page, "train-batch", 16)
    set_slider(page, "train-preview-every", 5)
    page.wait_for_function("() => document.querySelector('#train-preview-every input[type=number]').value === '5'")
    record_changes(page, "pred", "#train-row-pred img")
    record_changes(page, "status", "#train-status")

    page.locator("#train-start").click()
    page.wait_for_function(
        """() => { const p = document.querySelector('#train-loss .js-plotly-plot');
                   return p && p.data && p.data.length === 2 && p.data[0].x.length >= 30; }""",
        timeout=LONG,
    )
    losses = page.evaluate("() => Array.from(document.querySelector('#train-loss .js-plotly-plot').data[1].y)")
    assert len(losses) >= 30 and losses[-1] < losses[0], "the smoothed loss should fall during the first steps"
    assert (
        len({status_step(s) for s in recorded(page, "status") if "/ 5000" in s}) >= 2
    )  # streamed, not one final update
    assert len(recorded(page, "pred")) >= 3  # the prediction row refreshed every 5 steps

    page.locator("#train-stop").click()
    steps = [status_step(text(page, "train-status"))]
    for _ in range(6):  # an update already on its way may land; then the count must stand still
        page.wait_for_timeout(2_500)
        steps.append(status_step(text(page, "train-status")))
        if steps[-1] == steps[-2]:
            break
    assert steps[-1] == steps[-2] < 5000, f"training went on after Stop: steps {steps}"
    assert "训练完成" not in text(page, "train-status")
    page.wait_for_function("() => document.querySelector('#train-status').innerText.includes('已停止')")
    assert page.locator("#train-start").is_enabled()
    # Stop ends the run cleanly: no output of the run is marked as failed
    assert page.locator(".error").count() == 0, "Stop left error badges on the outputs"

    # Stop keeps what was learnt: the session's model downloads as safetensors, and it is trained
    page.locator("#train-download").click()
    page.locator('#train-files a[download="model.safetensors"]').wait_for(timeout=30_000)
    assert page.locator('#train-files a[download="config.json"]').count() == 1
    weights = download(page, '#train-files a[download="model.safetensors"]', tmp_path)
    assert weights.name == "model.safetensors" and weights.stat().st_size > 1_000_000
    trained = load_file(weights)
    initial = build_model("basic", seed=0).state_dict()
    assert trained.keys() == initial.keys()
    assert all(trained[k].shape == initial[k].shape for k in initial)
    assert any(not np.allclose(trained[k].numpy(), initial[k].numpy()) for k in initial), "the weights never moved"
    screenshot(page, "training")


# ----------------------------------------------------------------------------------------------
# ⑤ Sampling: a streamed DPM-Solver++ run, then its GIF and PNG downloads
# ----------------------------------------------------------------------------------------------


def test_tour_sampling_streams_and_downloads(page, app_url, tmp_path):
    open_tab(page, app_url, "⑤ 采样")
    page.locator("#ddpm-run").wait_for()
    page.locator("#ddpm-scheduler label", has_text="DPM-Solver++").click()
    set_slider(page, "ddpm-steps", 10)
    page.wait_for_function("() => document.querySelector('#ddpm-steps input[type=number]').value === '10'")
    record_changes(page, "xt", "#ddpm-xt img")
    record_changes(page, "status", "#ddpm-status")

    page.locator("#ddpm-run").click()
    status = wait_for_text(page, "ddpm-status", "第 10/10 步", timeout=LONG)
    assert "dpm++" in status and "自带的检查点" in status
    frames = recorded(page, "xt")
    assert len(frames) >= 2, f"x_t was shown {len(frames)} time(s): the run did not stream"
    steps_seen = {int(m.group(1)) for s in recorded(page, "status") if (m := re.search(r"第 (\d+)/10 步", s))}
    assert min(steps_seen) < 10 and 10 in steps_seen, f"no intermediate step was shown: {steps_seen}"
    page.locator("#ddpm-final img").wait_for()
    page.wait_for_function("() => document.querySelector('#ddpm-scrub input[type=number]').max === '10'")

    page.locator("#ddpm-gif a[download]").wait_for(timeout=30_000)
    gif = download(page, "#ddpm-gif a[download]", tmp_path)
    assert gif.name == "dpm++-10-steps-seed0.gif"
    assert gif.read_bytes()[:6] == b"GIF89a"
    with Image.open(gif) as animation:
        assert animation.n_frames == 11  # the 10 steps, then the final grid

    png = download(page, "#ddpm-png a[download]", tmp_path)
    assert png.name == "dpm++-10-steps-seed0.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as grid:
        assert grid.size == natural_size(page, "#ddpm-final img")  # the file is the grid shown
    assert_no_traceback(page)
    screenshot(page, "sampling")


# ----------------------------------------------------------------------------------------------
# ⑥ Compare: the precomputed curves, x0 vs noise prediction, the loss per timestep
# ----------------------------------------------------------------------------------------------


def test_tour_compare_objectives_and_loss(page, app_url):
    open_tab(page, app_url, "⑥ 对比")
    wait_for_plot(page, "quality-curves")
    assert {"DDPM", "DDIM", "DPM-Solver++", "Euler"} <= {t["name"] for t in plot_traces(page, "quality-curves")}
    assert "预先计算的曲线" in text(page, "quality-summary")

    set_slider(page, "objectives-t", 300)
    page.wait_for_function("() => document.querySelector('#objectives-t input[type=number]').value === '300'")
    page.locator("#objectives-run").click()
    summary = wait_for_text(page, "objectives-summary", "t = 300", timeout=LONG)
    assert "BasicUNet" in summary and "UNet2DModel" in summary
    wait_for_plot(page, "objectives-curve")
    curve = plot_traces(page, "objectives-curve")
    assert [t["name"] for t in curve] == ["BasicUNet (x0)", "UNet2DModel (ε → x0)"]
    assert all(t["n"] == 11 for t in curve)  # ten fixed t plus the chosen 300
    for label in ("干净的数字 x0", "BasicUNet 直接猜的 x0", "UNet2DModel 由噪声换算出的 x0"):
        row = page.locator(f".block:has([data-testid=block-label]:text-is('{label}')) img")
        row.first.wait_for()
        assert row.first.evaluate("(i) => i.naturalWidth") > 0
    mse = text(page, "objectives-mse")
    assert len(re.findall(r"\b0\.\d+", mse)) == 16  # 8 images x 2 models

    page.locator("#loss-run").click()
    loss = wait_for_text(page, "loss-summary", "20 个 t", timeout=LONG)
    assert "16 张图" in loss
    traces = plot_traces(page, "loss-curve")
    assert len(traces) == 2 and all(t["n"] == 20 for t in traces)
    assert_no_traceback(page)
    screenshot(page, "compare")


# ----------------------------------------------------------------------------------------------
# The language switch, away from tab 1: the Training tab, then every tab in English
# ----------------------------------------------------------------------------------------------

TAB_NAMES_EN = ["① Corruption", "② DDPM noising", "③ Inside the UNet", "④ Training", "⑤ Sampling", "⑥ Compare"]
# Chinese that may stay on an English page: "Code / 代码", "Language / 语言", the title, the Chinese choice
BILINGUAL = r"\s/\s|\s·\s|^中文$"
UNTRANSLATED = """(allowed) => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const left = [];
    for (let node; (node = walker.nextNode()); ) {
        const text = node.textContent.trim(), parent = node.parentElement;
        if (!/[\u3400-\u9fff]/.test(text) || new RegExp(allowed).test(text)) continue;
        if (!parent || !parent.checkVisibility() || parent.closest('.cm-editor, pre, code, footer')) continue;
        left.push(text);  // (code is code, and the footer is Gradio's, in the browser's language)
    }
    return left;
}"""


def untranslated(page, where: str, timeout: float = 30_000) -> None:
    """Fail if Chinese text stays visible on the English page (labels, buttons, statuses, charts)."""
    try:
        page.wait_for_function(f"(allowed) => ({UNTRANSLATED})(allowed).length === 0", arg=BILINGUAL, timeout=timeout)
    except Exception:
        left = page.evaluate(UNTRANSLATED, BILINGUAL)
        raise AssertionError(f"Chinese left on the English {where}: {left}") from None


def test_tour_language_switch_on_the_training_tab(page, app_url):
    open_tab(page, app_url, "④ 训练")
    page.locator("#train-start").wait_for()
    assert text(page, "train-start").strip() == "▶ 开始训练"
    page.locator("#train-model label", has_text="UNet2DModel").click()
    page.get_by_text("加噪后的数据 x_t").first.wait_for()

    page.locator("#language label", has_text="English").click()
    page.get_by_role("tab", name="④ Training").wait_for()
    wait_for_text(page, "train-start", "Start training")
    assert text(page, "train-stop").strip() == "■ Stop"
    wait_for_text(page, "train-status", "Not training yet")  # the idle hint was left in Chinese
    page.get_by_text("Noised data x_t (t from 0 to 999, left to right)").first.wait_for()  # follows the model
    page.get_by_text("UNet2DModel (predicts the noise ε, DDPM)").first.wait_for()
    page.get_by_text("Training steps", exact=True).first.wait_for()
    wait_for_text(page, "train-loss", "Training loss")
    untranslated(page, "Training tab")
    screenshot(page, "language")

    # every tab in English: tab names, labels, buttons, choices, statuses and the charts drawn at start
    for name in TAB_NAMES_EN:
        page.get_by_role("tab", name=name).click()
        untranslated(page, f"{name} tab")
    wait_for_text(page, "mix-status", "Press “Sample”.")
    wait_for_text(page, "sample-curve", "ᾱ_t and the current t")
    # every tab has been drawn once now: no two elements share an id (the Sampling tab's alpha_bar
    # chart used to reuse the DDPM tab's "ddpm-curve", so #ddpm-curve could find the wrong chart)
    duplicated = page.evaluate(
        """() => { const seen = {};  // the app's elem_ids are kebab-case (plotly and icons repeat their own)
                   document.querySelectorAll('[id]').forEach(e => seen[e.id] = (seen[e.id] || 0) + 1);
                   return Object.keys(seen).filter(id => /^[a-z0-9]+(-[a-z0-9]+)+$/.test(id) && seen[id] > 1); }"""
    )
    assert not duplicated, f"ids used more than once: {duplicated}"

    # and back: the statuses and the chart follow again
    page.locator("#language label", has_text="中文").click()
    page.get_by_role("tab", name="⑥ 对比").wait_for()
    page.get_by_role("tab", name="⑤ 采样").click()
    wait_for_text(page, "ddpm-status", "点击“开始采样”。")
    wait_for_text(page, "sample-curve", "ᾱ_t 曲线与当前 t")
