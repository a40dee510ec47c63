"""Stop 5 · sampling: the tutorial's mix sampler with the bundled BasicUNet, and "1 step or 5 steps: which
reads better?", revealed by sampling both from one starting noise and scoring them with the digit classifier.
"""

from __future__ import annotations

import time
from typing import Any

import gradio as gr
import torch

from diffusion_core import metrics
from ui.classroom_tab.questions import PIXELATED, build_question, committed, pick_first, verdict
from ui.classroom_tab.shared import DIGITS_SEED, SAMPLE_POOL
from ui.classroom_tab.text import TEXT, both
from ui.common import markdown
from ui.components import slider
from ui.context import DEVICE, AppContext
from ui.errors import as_int, friendly
from ui.i18n import normalize_language, pick

BATCH = 8
MAX_STEPS = 10
DEFAULT_STEPS = 5
CHOICES = {"1": "q5_1", "5": "q5_5", "same": "q5_same"}
SAME_WITHIN = 0.05  # mean confidences closer than this count as "about the same"


def mix_run(net: torch.nn.Module, steps: int) -> list:
    """The mix sampler's records for 8 images from the lesson's seed (the same starting noise for any ``steps``)."""
    from diffusion_core import sampling  # diffusers: on first use

    return list(sampling.mix_sample(net, steps, BATCH, generator=torch.Generator().manual_seed(DIGITS_SEED)))


def sample_live(steps: Any, lang: Any, request: gr.Request | None = None) -> tuple:
    """Sample 8 digits in ``steps`` steps with the bundled BasicUNet: (the two-column figure, status Markdown)."""
    from diffusion_core import estimates, sampling  # diffusers: on first use
    from diffusion_core.sample_figures import mix_figure
    from ui import runs

    lang = normalize_language(lang)
    steps = as_int(steps, "n_steps", 1, MAX_STEPS)
    net = sampling.bundled_basic_unet(str(DEVICE))
    with runs.heavy_run(request, "sample", lang) as run:
        run.admit(estimates.sampling_estimate(net, steps, BATCH))
        start = time.perf_counter()
        records = mix_run(net, steps)
        seconds = time.perf_counter() - start
    figure = mix_figure([r.x_t.float().cpu() for r in records], [r.pred_x0.float().cpu() for r in records], 3)
    return figure, both("sample_status", n=steps, seconds=seconds)


def confidence(images: torch.Tensor) -> float:
    """The digit classifier's mean confidence on ``images`` (B, 1, 28, 28) in [0, 1] (about 0.98 on real digits)."""
    return float(metrics.classify(images.clamp(0, 1)).probs.max(dim=1).values.mean())


def reveal(chosen: Any) -> tuple:
    """Reveal of question 5: (verdict, 1-step samples above 5-step samples from the same noise)."""
    from diffusion_core import sampling  # diffusers: on first use
    from diffusion_core.figures import to_image

    if not committed(chosen, CHOICES):
        return pick_first(), gr.update()
    net = sampling.bundled_basic_unet(str(DEVICE))
    one, five = (mix_run(net, steps)[-1].x_prev.float().cpu() for steps in (1, 5))
    scores = {"one": confidence(one), "five": confidence(five)}
    if abs(scores["one"] - scores["five"]) < SAME_WITHIN:
        truth = "same"
    else:
        truth = "5" if scores["five"] > scores["one"] else "1"
    picture = to_image(torch.cat([one, five]).clamp(0, 1), nrow=BATCH, scale=4)
    return verdict(chosen, truth, CHOICES, lambda lang: pick(TEXT, "a5", lang).format(**scores)), picture


def widget(ctx: AppContext) -> None:
    """The live widget: steps, Sample, the tutorial's two-column figure and the status."""
    loc = ctx.loc
    with gr.Row(equal_height=True):
        steps = loc.widget(slider, TEXT, "sample_steps", minimum=1, maximum=MAX_STEPS, value=DEFAULT_STEPS, step=1,
                           name="n_steps", elem_id="class-sample-steps", scale=3)  # fmt: skip
        start = loc.text(gr.Button, TEXT, "sample", variant="primary", elem_id="class-sample", scale=1,
                         min_width=160)  # fmt: skip
    status = markdown("", elem_id="class-sample-status")
    figure = loc.widget(gr.Image, TEXT, "sample_figure", elem_id="class-sample-figure", **PIXELATED)
    start.click(friendly(sample_live), [steps, ctx.lang], [figure, status], api_visibility="private",
                show_progress_on=status, **SAMPLE_POOL)  # fmt: skip


def question(ctx: AppContext) -> None:
    """Question 5: 1 step or 5 steps?"""
    block = build_question(ctx.loc, "q5", CHOICES, picture_key="a5_image")
    block.reveal.click(friendly(reveal), block.answer, [block.result, block.picture],
                       api_visibility="private", **SAMPLE_POOL)  # fmt: skip
