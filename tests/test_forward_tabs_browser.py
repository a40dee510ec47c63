"""The two forward-process tabs in a real Chromium: sliders change the shown image, both languages work."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def image_src(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} img").first.get_attribute("src") or ""


def set_slider(page, elem_id: str, value: float) -> None:
    """Type a value into the slider's number box, as a user can, and commit it."""
    box = page.locator(f"#{elem_id} input[type=number]").first
    box.fill(str(value))
    box.press("Enter")


def wait_for_new_src(page, elem_id: str, old: str, timeout: float = 20_000) -> str:
    page.wait_for_function(
        "([id, old]) => { const i = document.querySelector(`#${id} img`); return i && i.src && i.src !== old; }",
        arg=[elem_id, old],
        timeout=timeout,
    )
    return image_src(page, elem_id)


def test_corruption_tab_amount_slider_changes_the_image(page, app_url):
    page.goto(app_url + "/?lang=zh")
    page.get_by_role("tab", name="① 损坏过程").click()
    page.locator("#corrupt-view .dx-scrub[data-drawn]").wait_for()
    formula_before = page.locator("#corrupt-view .dx-formula").inner_text()
    set_slider(page, "corrupt-amount", 0.8)
    page.wait_for_function("() => document.querySelector('#corrupt-view .dx-formula').innerText.includes('80%')")
    assert page.locator("#corrupt-view .dx-scrub").get_attribute("data-value") == "0.8"
    assert page.locator("#corrupt-view .dx-formula").inner_text() != formula_before


def test_noising_tab_timestep_slider_changes_the_image(page, app_url):
    page.goto(app_url + "/?lang=zh")
    page.get_by_role("tab", name="② DDPM 加噪").click()
    page.locator("#ddpm-view .dx-scrub[data-drawn]").wait_for()
    set_slider(page, "ddpm-t", 900)
    page.wait_for_function("() => document.querySelector('#ddpm-view .dx-formula').innerText.includes('t = 900')")
    # switching to uniform noise explains itself
    page.locator("#ddpm-noise-kind label").nth(1).click()
    page.wait_for_function("() => document.querySelector('#ddpm-explanation').innerText.includes('rand')")


def test_language_switch_translates_the_page(page, app_url):
    page.goto(app_url + "/?lang=en")
    page.get_by_role("tab", name="① Corruption").wait_for()
    assert "A simple corruption process" in page.content()
    page.locator("#language label", has_text="中文").click()
    page.get_by_role("tab", name="① 损坏过程").wait_for()
    page.wait_for_function("() => document.body.innerText.includes('一种简单的损坏')")
    page.get_by_role("tab", name="② DDPM 加噪").click()
    page.wait_for_function("() => document.body.innerText.includes('教程勘误')")


@pytest.mark.parametrize(
    ("tab", "view"),
    [("① 损坏过程", "corrupt-strip"), ("② DDPM 加噪", "ddpm-strip"), ("③ 内部结构", "inside-maps")],
)
def test_choosing_upload_waits_for_the_picture_without_an_error(page, app_url, tmp_path, tab, view):
    """Picking "Upload your own image" is a step, not a mistake: no error toast, then the upload drives the view."""
    from PIL import Image

    picture = tmp_path / "square.png"
    Image.new("RGB", (20, 20), (255, 255, 255)).save(picture)
    page.goto(app_url + "/?lang=zh")  # the default language: no flip to wait for
    page.get_by_role("tab", name=tab).click()
    panel = page.locator("[role=tabpanel]:visible")
    panel.locator(f"#{view} img").first.wait_for()
    before = image_src(page, view)
    panel.get_by_text("上传自己的图片").first.click()
    upload = panel.locator("input[type=file]").first
    upload.wait_for(state="attached")
    page.wait_for_timeout(3000)  # the old wiring showed its red toast within a second
    assert page.locator(".toast-body").count() == 0, page.locator(".toast-body").first.inner_text()
    assert image_src(page, view) == before  # the last pictures stay while the learner picks a file
    upload.set_input_files(str(picture))
    assert wait_for_new_src(page, view, before, timeout=60_000) != before
    assert page.locator(".toast-body").count() == 0
