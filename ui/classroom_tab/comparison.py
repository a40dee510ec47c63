"""Stop 6 · versus DDPM: the two bundled models sample side by side, and "how many times BasicUNet's parameters
does the tutorial's UNet2DModel have?", revealed by building both models live and counting.
"""

from __future__ import annotations

import functools
import math
import time
from typing import Any

import gradio as gr
import torch

from diffusion_core.figures import to_image
from ui.classroom_tab.questions import PIXELATED, build_question, committed, pick_first, verdict
from ui.classroom_tab.shared import DIGITS_SEED, LIGHT, SAMPLE_POOL
from ui.classroom_tab.text import TEXT, both
from ui.common import markdown
from ui.context import DEVICE, AppContext
from ui.errors import friendly
from ui.i18n import normalize_language, pick

BATCH = 8
MIX_STEPS = 5  # the tutorial's
DDIM_STEPS = 10  # few enough for seconds on a CPU; DDIM keeps 10 steps recognisable
CHOICES = {"1": "q6_1", "2": "q6_2", "5": "q6_5", "20": "q6_20"}


def compare_live(lang: Any, request: gr.Request | None = None) -> tuple:
    """8 samples from each bundled model, one seed: (BasicUNet grid, UNet2DModel grid, status Markdown)."""
    from diffusion_core import comparison_lab, estimates, sampling  # diffusers: on first use
    from ui import runs
    from ui.classroom_tab.sampling import confidence, mix_run

    lang = normalize_language(lang)
    basic = sampling.bundled_basic_unet(str(DEVICE))
    pipeline = sampling.bundled_ddpm(str(DEVICE))
    with runs.heavy_run(request, "sample", lang) as run:
        run.admit(estimates.sampling_estimate(pipeline.unet, DDIM_STEPS + MIX_STEPS, BATCH))
        start = time.perf_counter()
        mixed = mix_run(basic, MIX_STEPS)[-1].x_prev.float().cpu().clamp(0, 1)
        middle = time.perf_counter()
        noise_predicted = comparison_lab.generate(pipeline.unet, pipeline.scheduler, "ddim", DDIM_STEPS, BATCH,
                                                  DIGITS_SEED)  # fmt: skip
        ddpm = (noise_predicted.float() * 0.5 + 0.5).clamp(0, 1)  # [-1, 1] -> [0, 1]
        end = time.perf_counter()
    status = both("compare_status", basic=middle - start, ddpm=end - middle, basic_conf=confidence(mixed),
                  ddpm_conf=confidence(ddpm))  # fmt: skip
    return to_image(mixed, nrow=BATCH, scale=4), to_image(ddpm, nrow=BATCH, scale=4), status


@functools.lru_cache(maxsize=1)
def parameter_counts() -> dict[str, int]:
    """Both models built from the tutorial's configs (fresh weights), their parameters counted."""
    from diffusion_core.models import BUILD_LOCK, BasicUNet, build_unet2d  # diffusers: on first use

    with torch.random.fork_rng(devices=[]):
        with BUILD_LOCK:
            basic = BasicUNet(1, 1)
        ddpm = build_unet2d()
    return {"basic": sum(p.numel() for p in basic.parameters()), "ddpm": sum(p.numel() for p in ddpm.parameters())}


def reveal(chosen: Any) -> str:
    """Reveal of question 6: the two parameter counts and their ratio, the nearest choice (on a log scale) right."""
    if not committed(chosen, CHOICES):
        return pick_first()
    counts = parameter_counts()
    ratio = counts["ddpm"] / counts["basic"]
    truth = min(CHOICES, key=lambda times: abs(math.log(float(times) / ratio)))
    return verdict(chosen, truth, CHOICES, lambda lang: pick(TEXT, "a6", lang).format(ratio=ratio, **counts))


def widget(ctx: AppContext) -> None:
    """The live widget: Compare, the two grids and the status."""
    loc = ctx.loc
    start = loc.text(gr.Button, TEXT, "compare", variant="primary", elem_id="class-compare")
    status = markdown("", elem_id="class-compare-status")
    with gr.Row():
        basic = loc.widget(gr.Image, TEXT, "compare_basic", elem_id="class-compare-basic", **PIXELATED)
        ddpm = loc.widget(gr.Image, TEXT, "compare_ddpm", elem_id="class-compare-ddpm", **PIXELATED)
    start.click(friendly(compare_live), ctx.lang, [basic, ddpm, status], api_visibility="private",
                show_progress_on=status, **SAMPLE_POOL)  # fmt: skip


def question(ctx: AppContext) -> None:
    """Question 6: how many times the parameters?"""
    block = build_question(ctx.loc, "q6", CHOICES)
    block.reveal.click(friendly(reveal), block.answer, block.result, **LIGHT)
