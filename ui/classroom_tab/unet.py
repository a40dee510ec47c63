"""Stop 3 · inside the UNet: the shape of every step for an input side, and "what comes out of the second down
block?", revealed from a live trace of BasicUNet (``diffusion_core.tracing``).
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import torch

from diffusion_core.tracing import Trace, format_shape, random_input, trace_basic_unet
from ui.classroom_tab.questions import build_question, committed, pick_first, verdict
from ui.classroom_tab.shared import DIGITS_SEED, LIGHT, Opening
from ui.classroom_tab.text import TEXT, worded
from ui.common import markdown
from ui.components import slider
from ui.context import AppContext
from ui.errors import as_int, friendly
from ui.i18n import pick
from ui.inside_tab.wording import step_label

BATCH = 8  # the tutorial's torch.rand(8, 1, 28, 28)
QUESTION_SIDE = 28
CHOICES = ["[8, 32, 14, 14]", "[8, 64, 14, 14]", "[8, 64, 7, 7]", "[8, 128, 7, 7]"]  # language-neutral


def trace(side: int) -> Trace:
    """A live walk of ``torch.rand(8, 1, side, side)`` (seeded) through a fresh BasicUNet (seed 0)."""
    from diffusion_core.models import BUILD_LOCK, BasicUNet  # diffusers: on first use

    with BUILD_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = BasicUNet(1, 1).eval()
    x = random_input(BATCH, 1, side, side, torch.Generator().manual_seed(DIGITS_SEED))
    return trace_basic_unet(model, x, features=0)


def shape_table(side: Any) -> str:
    """The widget's view: every step of the walk with its output shape, as a bilingual Markdown table."""
    side = as_int(side, "side", 8, 64)
    walk = trace(side)

    def table(lang: str) -> str:
        rows = [f"| {step_label(step, lang)} | `{format_shape(step.out_shape)}` |"
                for step in walk.steps if step.kind != "input"]  # fmt: skip
        total = pick(TEXT, "shape_total", lang).format(shape=format_shape(walk.input_shape),
                                                       out=format_shape(walk.output_shape), n=len(walk.steps),
                                                       params=walk.total_parameters)  # fmt: skip
        return total + "\n\n" + pick(TEXT, "shape_head", lang) + "\n" + "\n".join(rows)

    return worded(table)


def second_down_block(walk: Trace):
    """The step the question asks about: the second down stage's activation (its map is stored for a skip)."""
    return next(step for step in walk.steps if step.path == "down" and step.stage == 2 and step.kind == "act")


def reveal(chosen: Any) -> str:
    """Reveal of question 3, from a live trace of ``torch.rand(8, 1, 28, 28)``."""
    if not committed(chosen, CHOICES):
        return pick_first()
    walk = trace(QUESTION_SIDE)
    step = second_down_block(walk)
    conv = walk.steps[step.index - 1]
    truth = format_shape(step.out_shape)
    return verdict(chosen, truth, CHOICES, lambda lang: pick(TEXT, "a3", lang).format(
        label=step_label(step, lang), shape=truth, c_in=conv.in_shape[1], c_out=conv.out_shape[1],
        side=step.out_shape[-1]))  # fmt: skip


def widget(ctx: AppContext) -> Opening:
    """The live widget: the input side and the shape table (server-side trace)."""
    side = ctx.loc.widget(slider, TEXT, "side", minimum=8, maximum=64, value=QUESTION_SIDE, step=4, name="side",
                          elem_id="class-side")  # fmt: skip
    with gr.Accordion(open=True, label="BasicUNet", elem_id="class-shapes-box"):
        shapes = markdown("", elem_id="class-shapes", elem_classes="dx-shapes")
    side.change(friendly(shape_table), side, shapes, **LIGHT)

    def open_stop(filled: Any, value: Any) -> tuple:
        return (gr.skip(),) * 2 if filled else (True, shape_table(value))

    return Opening(friendly(open_stop), [side], [shapes])


def question(ctx: AppContext) -> None:
    """Question 3: the shape out of the second down block."""
    block = build_question(ctx.loc, "q3", CHOICES)
    block.reveal.click(friendly(reveal), block.answer, block.result, **LIGHT)
