"""One language at a time, in a real Chromium: ``?lang=`` from the first paint, switches that leave nothing behind.

The helpers are the language benchmark's (``diffusion_core.benchmarks.language``): ``first_paint`` records
the page from its first script on; ``left_over`` lists the visible texts in the other language. Times are
measured by the benchmark (``python -m diffusion_core bench --only language``), not asserted here.
"""

from __future__ import annotations

import re

import pytest
from test_forward_tabs_browser import set_slider

from diffusion_core.benchmarks.language import HEADERS, LEFT_OVER_JS, first_paint, left_over, switch
from diffusion_core.estimates import RUN_CAP_ENV

pytestmark = pytest.mark.e2e

TABS = {
    "zh": ["① 损坏过程", "② DDPM 加噪", "③ 内部结构", "④ 训练", "⑤ 采样", "⑥ 对比", "课堂模式 · Classroom"],
    "en": ["① Corruption", "② DDPM noising", "③ Inside the UNet", "④ Training", "⑤ Sampling", "⑥ Compare",
           "Classroom · 课堂模式"],
}  # fmt: skip
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.mark.parametrize(("lang", "browser_locale"), [("en", "zh-CN"), ("zh", "en-US")])
def test_the_first_paint_is_in_the_requested_language(browser, app_url, lang, browser_locale):
    """The first frame that shows anything is already in ``?lang=``'s language, even against the browser's own."""
    paint = first_paint(browser, app_url, lang, browser_locale)
    assert paint["header"] == HEADERS[lang], paint
    assert paint["tabs"] in ([], TABS[lang]), paint  # the tab names come with the header or after it
    assert paint["left"] == [], f"text in the other language during the first 4 s: {paint['left']}"
    assert paint["labels"] > 0, paint  # the watch lasted until the first tab's widgets were drawn


def assert_nothing_left(page, lang: str, where: str) -> None:
    try:
        page.wait_for_function(f"(lang) => ({LEFT_OVER_JS})(lang).length === 0", arg=lang, timeout=60_000)
    except Exception:
        raise AssertionError(f"{where}: text left in the other language: {left_over(page, lang)}") from None


def test_a_switch_leaves_nothing_in_the_other_language(page, app_url):
    """Train two steps, switch to English: the run's status, every tab, Gradio's own strings; and back."""
    page.goto(f"{app_url}/?lang=zh")
    page.get_by_role("tab", name="④ 训练").click()
    set_slider(page, "train-steps", 2)
    set_slider(page, "train-batch", 8)
    page.wait_for_function("() => document.querySelector('#train-steps input[type=number]').value === '2'")
    page.locator("#train-start").click()
    page.locator("#train-status").get_by_text("训练完成").wait_for(timeout=120_000)

    result = switch(page, "en")
    assert result["staticMs"] is not None, result
    page.locator("#train-status").get_by_text("Done").wait_for(timeout=30_000)  # the run's status follows
    assert not CJK.search(page.locator("#train-status").inner_text())
    for name in TABS["en"]:
        page.get_by_role("tab", name=name).click()
        assert_nothing_left(page, "en", f"{name} in English")
    # Gradio's own strings: an upload area opened after the switch speaks English
    page.get_by_role("tab", name="④ Training").click()
    page.locator("#train-data label", has_text="Upload your own images").click()
    page.locator("#train-uploads").get_by_text("Click to Upload").wait_for()

    switch(page, "zh")
    page.locator("#train-status").get_by_text("训练完成").wait_for(timeout=30_000)
    for name in TABS["zh"]:
        page.get_by_role("tab", name=name).click()
        assert_nothing_left(page, "zh", f"{name} in Chinese")


def test_gradio_speaks_the_page_language(page, app_url):
    """In zh mode Gradio's own strings are Chinese; slider aria-labels follow the page's language."""
    page.goto(f"{app_url}/?lang=zh")
    page.get_by_role("tab", name="④ 训练").click()
    page.locator("#train-data label", has_text="上传自己的图片").click()
    page.locator("#train-uploads").get_by_text("点击上传").wait_for()
    assert "Drop File Here" not in page.locator("#train-uploads").inner_text()

    page.get_by_role("tab", name="① 损坏过程").click()
    switch(page, "en")
    page.locator("#corrupt-amount input[type=range]").wait_for()
    page.wait_for_function("() => document.querySelector('#corrupt-amount input').ariaLabel.includes('noise fraction')")
    labels = page.locator("#corrupt-amount input").evaluate_all("(inputs) => inputs.map((i) => i.ariaLabel || '')")
    assert labels and all(label and not CJK.search(label) for label in labels), labels
    switch(page, "zh")
    page.wait_for_function(  # and back: Chinese labels in zh mode
        "() => Array.from(document.querySelectorAll('#corrupt-amount input')).every(i => /[一-鿿]/.test(i.ariaLabel))"
    )


def test_sampling_statuses_follow_a_switch(page, app_url, monkeypatch):
    """Finish a run in each sampling section in Chinese, switch to English: every status is re-worded, and back.
    Then a switch during section C's next run re-words that run's line, not its last run's status, and the run
    ends in the new language (``ui.runs.running_in``, ``follow_language``)."""
    monkeypatch.setenv(RUN_CAP_ENV, "100000")  # a busy 2-core machine may estimate 1000 steps above the cap
    page.goto(f"{app_url}/?lang=zh")
    page.get_by_role("tab", name="⑤ 采样").click()
    for section, done in (("mix", "第 2/2 步"), ("ddpm", "第 2/2 步"), ("pipe", "1 张，2 步")):  # one run at a time
        set_slider(page, f"{section}-steps", 2)
        set_slider(page, f"{section}-batch", 1)
        page.locator(f"#{section}-run").click()
        page.locator(f"#{section}-status").get_by_text(done).wait_for(timeout=180_000)

    switch(page, "en")
    for section, done in (("mix", "Step 2/2"), ("ddpm", "Step 2/2"), ("pipe", "1 images, 2 steps")):
        page.locator(f"#{section}-status").get_by_text(done).wait_for(timeout=30_000)
        assert not CJK.search(page.locator(f"#{section}-status").inner_text()), section
    assert_nothing_left(page, "en", "Sampling in English")
    switch(page, "zh")
    status = page.locator("#pipe-status")
    status.get_by_text("1 张，2 步").wait_for(timeout=30_000)

    set_slider(page, "pipe-steps", 1000)
    set_slider(page, "pipe-batch", 64)  # minutes on a CPU: still running when Stop is pressed, after the switch
    page.locator("#pipe-run").click()
    status.get_by_text("预计").wait_for(timeout=120_000)  # its estimate: DDPMPipeline runs, streaming nothing
    switch(page, "en")
    status.get_by_text("Estimated").wait_for(timeout=30_000)
    assert "1 images, 2 steps" not in status.inner_text()  # not the last run's status over the running one
    page.locator("#pipe-stop").dispatch_event("click")
    status.get_by_text("Stopped at step").wait_for(timeout=60_000)
    assert not CJK.search(status.inner_text())


def test_views_are_drawn_for_the_language_of_opened_tabs_only(page, app_url):
    """An English page sets its language as it loads: the worded views of tabs nobody opened are not drawn for it
    (``ui.lazy_views.TabOpenings.view_language``). A tab opened after that draws its view once, in English, with
    no second late drawing; each switch then redraws it once, in the new language."""
    import json

    import httpx

    config = httpx.get(f"{app_url}/config", timeout=30).json()
    views = {
        dependency["id"]: dependency["api_name"]
        for dependency in config["dependencies"]
        if dependency.get("api_name") in ("ddpm_noise", "trace_shapes", "unet2d_anatomy")
    }
    assert len(views) == 3
    called: list[str] = []

    def record(request) -> None:
        if request.method == "POST" and ("/queue/join" in request.url or "/run/" in request.url):
            fn_index = json.loads(request.post_data or "{}").get("fn_index")
            if fn_index in views:
                called.append(views[fn_index])

    page.on("request", record)
    page.goto(f"{app_url}/?lang=en")
    page.locator("#corrupt-view .dx-scrub[data-drawn]").wait_for()
    assert_nothing_left(page, "en", "the first tab in English")
    page.wait_for_timeout(2000)
    assert called == [], "an unopened tab's view was drawn for the page's language"

    explanation = "() => (document.querySelector('#ddpm-explanation')?.innerText || '').includes({!r})"
    page.get_by_role("tab", name="② DDPM noising").click()
    page.wait_for_function(explanation.format("Why randn"), timeout=60_000)
    page.wait_for_timeout(2000)
    assert called == ["ddpm_noise"], called  # drawn once when opened, in English, and not again
    switch(page, "zh")
    page.wait_for_function(explanation.format("为什么用"), timeout=60_000)
    page.wait_for_timeout(1000)
    assert called == ["ddpm_noise", "ddpm_noise"], called  # once more for the switch; tab ③ is still unopened


def test_a_switch_during_a_training_run_reaches_its_later_lines(page, app_url):
    """A run started in Chinese and switched to English while it streams: its later progress lines and its final
    status are in English (``ui.runs.follow_language``), and nothing of it is left in Chinese."""
    page.goto(f"{app_url}/?lang=zh")
    page.get_by_role("tab", name="④ 训练").click()
    set_slider(page, "train-steps", 100)
    page.wait_for_function("() => document.querySelector('#train-steps input[type=number]').value === '100'")
    page.locator("#train-start").click()
    page.locator("#train-status").get_by_text("已看").wait_for(timeout=120_000)  # a progress line: streaming
    switch(page, "en")
    page.locator("#train-status").get_by_text("Done").wait_for(timeout=120_000)
    assert not CJK.search(page.locator("#train-status").inner_text())
    assert_nothing_left(page, "en", "the Training tab after the run")
