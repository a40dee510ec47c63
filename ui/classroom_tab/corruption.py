"""Stop 1 · corruption: the amount slider on the lesson's digits, and "how much contrast is left at 0.5?".

The widget calls the core's ``corrupt`` on the server (``corruption_view``); ``widget`` is its one builder,
so a client-side scrubber can replace it without touching the question.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import torch

from diffusion_core.corruption import corrupt
from diffusion_core.figures import to_image
from ui.classroom_tab.questions import PIXELATED, build_question, committed, pick_first, verdict
from ui.classroom_tab.shared import DIGITS_SEED, LIGHT, Opening, lesson_digits
from ui.classroom_tab.text import TEXT, both
from ui.common import markdown
from ui.components import slider
from ui.context import AppContext
from ui.errors import as_float, friendly
from ui.i18n import pick

QUESTION_AMOUNT = 0.5
CHOICES = {"100": "q1_100", "50": "q1_50", "25": "q1_25", "0": "q1_0"}  # percent of the contrast left
STROKE_ABOVE = 0.5  # a pixel of the clean digit brighter than this is on a stroke
BACKGROUND_BELOW = 0.05  # and darker than this is background


def lesson_noise() -> torch.Tensor:
    """The stop's one noise draw, ``torch.rand`` like the digits (8, 1, 28, 28), seeded: the slider only mixes."""
    return torch.rand(lesson_digits()[0].shape, generator=torch.Generator().manual_seed(DIGITS_SEED))


def corruption_view(amount: Any) -> tuple:
    """The widget's view at ``amount``: (the 8 corrupted digits, their numbers as bilingual Markdown)."""
    amount = as_float(amount, "amount", 0.0, 1.0)
    mixed = corrupt(lesson_digits()[0], amount, noise=lesson_noise())
    numbers = both("corrupt_numbers", a=amount, keep=(1 - amount) * 100, a_pct=amount * 100,
                   low=float(mixed.min()), high=float(mixed.max()))  # fmt: skip
    return to_image(mixed, scale=4), numbers


def contrast_left(amount: float) -> dict[str, float]:
    """How much of the digits' stroke-to-background contrast survives ``corrupt`` at ``amount``, measured.

    Returns:
        ``stroke`` / ``background``: mean corrupted value on stroke / background pixels; ``before`` / ``after``:
        the contrast (stroke mean minus background mean) of the clean and corrupted digits; ``ratio`` in percent.
    """
    x = lesson_digits()[0]
    mixed = corrupt(x, amount, noise=lesson_noise())
    stroke, background = x > STROKE_ABOVE, x < BACKGROUND_BELOW
    before = float(x[stroke].mean() - x[background].mean())
    after = float(mixed[stroke].mean() - mixed[background].mean())
    return {"stroke": float(mixed[stroke].mean()), "background": float(mixed[background].mean()),
            "before": before, "after": after, "ratio": 100 * after / before}  # fmt: skip


def reveal(chosen: Any) -> tuple:
    """Reveal of question 1: (verdict Markdown, the digits at amount 0.5); nothing is shown before a choice."""
    if not committed(chosen, CHOICES):
        return pick_first(), gr.update()
    measured = contrast_left(QUESTION_AMOUNT)
    truth = min(CHOICES, key=lambda percent: abs(float(percent) - measured["ratio"]))
    result = verdict(chosen, truth, CHOICES, lambda lang: pick(TEXT, "a1", lang).format(**measured))
    return result, corruption_view(QUESTION_AMOUNT)[0]


def widget(ctx: AppContext) -> Opening:
    """The live widget: the amount slider, the corrupted digits and their numbers (server-side ``corrupt``)."""
    loc = ctx.loc
    amount = loc.widget(slider, TEXT, "amount", minimum=0, maximum=1, value=0.3, step=0.05, name="amount",
                        elem_id="class-amount")  # fmt: skip
    picture = loc.widget(gr.Image, TEXT, "corrupted", elem_id="class-corrupted", height=180, **PIXELATED)
    numbers = markdown("", elem_id="class-corrupt-numbers")
    amount.change(friendly(corruption_view), amount, [picture, numbers], **LIGHT)

    def open_stop(filled: Any, value: Any) -> tuple:
        return (gr.skip(),) * 3 if filled else (True, *corruption_view(value))

    return Opening(friendly(open_stop), [amount], [picture, numbers])


def question(ctx: AppContext) -> None:
    """Question 1: how much contrast is left at amount 0.5?"""
    block = build_question(ctx.loc, "q1", CHOICES, picture_key="a1_image")
    block.reveal.click(friendly(reveal), block.answer, [block.result, block.picture], **LIGHT)
