"""Classroom mode in a real Chromium: every stop in both languages with the keyboard, predict-then-reveal
questions whose shown truth is checked against the core, the ``?lesson=N`` deep link.

Screenshots of every stop's presenter layout go to ``test-artifacts/issue15/`` (a 1280 x 800 projector).
"""

from __future__ import annotations

import io

import pytest
import torch

from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e

SHOTS = ARTIFACTS / "issue15"
PROJECTOR = {"width": 1280, "height": 800}
PROMPTS = {"zh": "第 {n} 站", "en": "Stop {n}"}


def open_lesson(page, app_url: str, lesson: int, lang: str) -> None:
    page.goto(f"{app_url}/?lesson={lesson}&lang={lang}")
    page.wait_for_function(f"() => document.documentElement.dataset.dxLesson === '{lesson}'", timeout=90_000)


def wait_for_stop(page, number: int, lang: str) -> None:
    """Stop ``number`` is the one shown, with its prompt in ``lang``, and no other stop is shown."""
    page.locator(f"#classroom-stop-{number}").wait_for(state="visible", timeout=30_000)
    prompt = PROMPTS[lang].format(n=number)
    page.wait_for_function(
        "([id, text]) => document.getElementById(id).innerText.includes(text)", arg=[f"classroom-stop-{number}", prompt]
    )
    shown = page.evaluate(
        "() => Array.from(document.querySelectorAll('.dx-stop')).filter((e) => e.getClientRects().length).map((e) => e.id)"
    )
    assert shown == [f"classroom-stop-{number}"]


def image_src(page, selector: str) -> str:
    page.wait_for_function(
        "(s) => { const i = document.querySelector(s); return i && i.src && i.complete; }", arg=selector, timeout=60_000
    )
    return page.locator(selector).first.get_attribute("src")


def shown_pixels(page, selector: str) -> torch.Tensor:
    """The picture the page shows at ``selector`` (an <img>), as the core's pixels (H, W) in 0..255."""
    from PIL import Image

    body = page.request.get(image_src(page, selector)).body()
    return torch.from_numpy(__import__("numpy").array(Image.open(io.BytesIO(body)).convert("L"))).long()


def reveal(page, name: str, choice: str) -> str:
    """Commit to ``choice`` (its label) in question ``name``, press Reveal, return the verdict's visible text."""
    page.locator(f"#{name}-answer label", has_text=choice).first.click()
    page.locator(f"#{name}-reveal").click()
    # the verdict starts with ✓ or ✗ (while the reveal runs, the box shows Gradio's "processing | 0.2s")
    page.wait_for_function(
        "(id) => { const e = document.getElementById(id); return e && /^[✓✗]/.test(e.innerText.trim()); }",
        arg=f"{name}-result",
        timeout=90_000,
    )
    return page.locator(f"#{name}-result").inner_text()


def expected_contrast_left() -> float:
    """Question 1's truth from the core: the contrast (stroke minus background) left at amount 0.5, in percent."""
    from diffusion_core.corruption import corrupt
    from diffusion_core.data import mnist_batch

    x = mnist_batch(8, 0)[0]
    mixed = corrupt(x, 0.5, noise=torch.rand(x.shape, generator=torch.Generator().manual_seed(0)))
    stroke, background = x > 0.5, x < 0.05
    return 100 * float(mixed[stroke].mean() - mixed[background].mean()) / float(x[stroke].mean() - x[background].mean())


def expected_t600_picture() -> torch.Tensor:
    """Question 2's truth from the core: the first digit at t = 600 (linear DDPMScheduler, randn seed 0), as shown."""
    import numpy as np
    from diffusers import DDPMScheduler

    from diffusion_core.data import mnist_batch
    from diffusion_core.figures import to_image

    x0 = mnist_batch(8, 0)[0] * 2 - 1
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    x_t = DDPMScheduler(num_train_timesteps=1000).add_noise(x0, noise, torch.full((8,), 600))
    return torch.from_numpy(np.array(to_image(x_t[0], value_range=(-1, 1), scale=6).convert("L"))).long()


def expected_second_down_shape() -> str:
    """Question 3's truth from the core: the shape after the second down convolution and SiLU, traced."""
    from diffusion_core.models import BasicUNet
    from diffusion_core.tracing import format_shape, trace_basic_unet

    trace = trace_basic_unet(BasicUNet(1, 1).eval(), torch.rand(8, 1, 28, 28), features=0)
    step = next(s for s in trace.steps if s.path == "down" and s.stage == 2 and s.kind == "act")
    return format_shape(step.out_shape)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_whole_lesson_with_the_keyboard(page, app_url, lang):
    """Stop 1 to 6 and back with ← / →, a question answered and revealed at stops 1-3, a screenshot of each stop."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(PROJECTOR)
    open_lesson(page, app_url, 1, lang)
    wait_for_stop(page, 1, lang)
    image_src(page, "#class-corrupted img")  # filled when the stop opened
    page.screenshot(path=str(SHOTS / f"{lang}-stop1.png"))

    # stop 1: predict, then reveal: the percentage shown is the one the core gives
    verdict = reveal(page, "q1", "50%")
    assert f"{expected_contrast_left():.1f}%" in verdict
    assert verdict.lstrip().startswith("✓"), verdict
    page.screenshot(path=str(SHOTS / f"{lang}-stop1-revealed.png"))

    # → from the Reveal button (the focus is there): stop 2; in the t slider's box, → is the box's own
    page.keyboard.press("ArrowRight")
    wait_for_stop(page, 2, lang)
    image_src(page, "#q2-image-A img")  # the four images are dealt when the stop opens
    box = page.locator("#class-t input[type=number]").first
    box.focus()
    page.keyboard.press("ArrowRight")
    wait_for_stop(page, 2, lang)
    page.screenshot(path=str(SHOTS / f"{lang}-stop2.png"))

    # stop 2: "which of these four is t = 600?": the framed image is the core's x_600, whatever was answered
    verdict = reveal(page, "q2", "A")
    marked = page.locator("#q2-block .dx-correct")
    marked.first.wait_for(timeout=30_000)
    assert marked.count() == 1
    letter = marked.get_attribute("id").removeprefix("q2-image-")
    assert f"{letter}" in verdict and "600" in verdict
    assert torch.equal(shown_pixels(page, f"#q2-image-{letter} img"), expected_t600_picture())
    page.screenshot(path=str(SHOTS / f"{lang}-stop2-revealed.png"))

    page.locator("#q2-reveal").focus()
    page.keyboard.press("ArrowRight")
    wait_for_stop(page, 3, lang)
    page.wait_for_function("() => document.getElementById('class-shapes').innerText.includes('309,057')")
    page.screenshot(path=str(SHOTS / f"{lang}-stop3.png"))
    verdict = reveal(page, "q3", "[8, 32, 14, 14]")  # a wrong guess: the verdict names the traced shape
    assert verdict.lstrip().startswith("✗") and expected_second_down_shape() in verdict
    page.screenshot(path=str(SHOTS / f"{lang}-stop3-revealed.png"))

    page.locator("#q3-reveal").focus()
    for number in (4, 5, 6):
        page.keyboard.press("ArrowRight")
        wait_for_stop(page, number, lang)
        page.screenshot(path=str(SHOTS / f"{lang}-stop{number}.png"))
    page.keyboard.press("ArrowRight")  # the last stop stays
    wait_for_stop(page, 6, lang)
    for number in (5, 4, 3, 2, 1):
        page.keyboard.press("ArrowLeft")
        wait_for_stop(page, number, lang)
    assert "lesson=1" in page.url  # the address bar links to the stop shown


@pytest.mark.parametrize(("lesson", "lang", "width"), [(3, "en", 1280), (5, "zh", 1280), (2, "zh", 600)])
def test_a_deep_link_opens_its_stop(page, app_url, lesson, lang, width):
    """``?lesson=N&lang=..`` opens the classroom at stop N in that language (on a phone, through "More tabs")."""
    page.set_viewport_size({"width": width, "height": 900})
    open_lesson(page, app_url, lesson, lang)
    wait_for_stop(page, lesson, lang)
    assert page.evaluate("() => document.documentElement.lang") == ("zh-CN" if lang == "zh" else "en")
    if lesson == 3:  # this stop fills itself when it opens: its live trace is there
        page.wait_for_function("() => document.getElementById('class-shapes').innerText.includes('309,057')")
    if width < 1000:
        page.screenshot(path=str(SHOTS / f"phone-{lang}-stop{lesson}.png"), full_page=True)


def test_the_runs_of_stops_4_to_6_and_a_reveal_of_stop_5(page, app_url):
    """Train, Sample and Compare run live from their buttons (short runs); question 5's reveal shows its picture."""
    page.set_viewport_size(PROJECTOR)
    open_lesson(page, app_url, 4, "en")
    wait_for_stop(page, 4, "en")
    page.locator("#class-train").click()
    page.wait_for_function(
        "() => document.getElementById('class-train-status').innerText.includes('Step 10 of 10')", timeout=180_000
    )
    image_src(page, "#class-train-rows img")
    page.screenshot(path=str(SHOTS / "en-stop4-trained.png"))
    page.keyboard.press("ArrowRight")
    wait_for_stop(page, 5, "en")
    page.locator("#class-sample").click()
    image_src(page, "#class-sample-figure img")
    assert "5 steps, 8 images" in page.locator("#class-sample-status").inner_text()
    verdict = reveal(page, "q5", "5 steps")
    assert "1 step" in verdict and image_src(page, "#q5-picture img")
    page.screenshot(path=str(SHOTS / "en-stop5-revealed.png"))
    page.locator("#q5-reveal").focus()
    page.keyboard.press("ArrowRight")
    wait_for_stop(page, 6, "en")
    page.locator("#class-compare").click()
    image_src(page, "#class-compare-ddpm img")
    assert "UNet2DModel (DDIM, 10 steps)" in page.locator("#class-compare-status").inner_text()
    page.screenshot(path=str(SHOTS / "en-stop6-compared.png"))
