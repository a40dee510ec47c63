"""Readable from the back of a room (issue 14), measured in a real Chromium at 1400×1000: picture labels do not
cover pictures, outputs that have nothing yet take no room, hints have strong contrast, the Compare table waits
for its numbers."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e

LABEL_AND_PICTURE = """(id) => {
  const block = document.getElementById(id);
  const label = block.querySelector('[data-testid=block-label]').getBoundingClientRect();
  const picture = block.querySelector('img').getBoundingClientRect();
  return {labelBottom: label.bottom, pictureTop: picture.top, labelHeight: label.height};
}"""


@pytest.mark.parametrize(("tab", "strip"), [("① 损坏过程", "corrupt-strip"), ("② DDPM 加噪", "ddpm-strip")])
def test_picture_labels_sit_above_the_pictures(page, app_url, tab, strip):
    page.goto(app_url + "/?lang=zh")  # the default: no language flip to wait for
    page.get_by_role("tab", name=tab).click()
    page.locator(f"#{strip} img").first.wait_for()
    box = page.evaluate(LABEL_AND_PICTURE, strip)
    assert box["labelHeight"] > 10 and box["labelBottom"] <= box["pictureTop"] + 1, box  # no overlap


def test_sampling_outputs_take_no_room_before_the_first_run(page, app_url):
    page.goto(app_url + "/?lang=zh")
    page.get_by_role("tab", name="⑤ 采样").click()
    page.locator("#mix-run").wait_for()
    heights = page.evaluate(
        """() => [...document.querySelectorAll('.block')]
             .filter(b => b.querySelector(':scope > .empty') && b.offsetParent)
             .map(b => [b.id, b.getBoundingClientRect().height])"""
    )
    assert len(heights) >= 6, heights  # A's three pictures, B's four and the two downloads, C's grid and zip
    assert max(h for _, h in heights) <= 60, heights  # was 236-271 px each, ~3,700 px in all
    assert page.evaluate("() => document.querySelector('#mix-figure [data-testid=block-label]').offsetHeight") > 10


def test_compare_table_waits_for_its_numbers(page, app_url):
    page.goto(app_url + "/?lang=zh")  # the default: no language flip to wait for
    page.get_by_role("tab", name="⑥ 对比").click()
    page.locator("#objectives-run").wait_for()
    assert page.locator("#objectives-mse").count() == 0 or not page.locator("#objectives-mse").is_visible()
    assert "1\n2\n3" not in page.locator("[role=tabpanel]:visible").inner_text()


def contrast(foreground: list[float], background: list[float]) -> float:
    """WCAG contrast ratio of two sRGB colours given as 0..255 triples."""

    def luminance(rgb: list[float]) -> float:
        channels = [c / 255 for c in rgb]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_hint_text_has_strong_contrast(page, app_url):
    page.goto(app_url + "/?lang=zh")  # the default: no language flip to wait for
    page.locator("#corrupt-amount .info-text").first.wait_for()
    colours = page.evaluate(
        """() => {
          const hint = document.querySelector('#corrupt-amount .info-text');
          const rgb = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
          let node = hint, background = null, opacity = 1;
          for (let n = hint; n; n = n.parentElement) opacity *= Number(getComputedStyle(n).opacity);
          while (node && !background) {
            const c = getComputedStyle(node).backgroundColor;
            if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') background = rgb(c);
            node = node.parentElement;
          }
          return {text: rgb(getComputedStyle(hint).color), background: background || [255, 255, 255], opacity,
                  size: parseFloat(getComputedStyle(hint).fontSize)};
        }"""
    )
    # the text as drawn: its colour blended with the background by its opacity
    blended = [
        colours["opacity"] * t + (1 - colours["opacity"]) * b
        for t, b in zip(colours["text"], colours["background"], strict=True)
    ]
    assert contrast(blended, colours["background"]) >= 7, colours  # WCAG AAA; Gradio's grey hint was about 3:1
    assert colours["size"] >= 13, colours
