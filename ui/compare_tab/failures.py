"""Section ④ of the Compare tab: the failure-mode lab (API ``/quality_failures``).

Every grid samples the bundled DDPM model from the same seed as the correct run and changes one
thing: ``torch.rand`` noise, forgetting ``x * 0.5 + 0.5`` at display, too few steps, or an undertrained checkpoint.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import gradio as gr
from torch import nn

from diffusion_core import comparison_lab
from diffusion_core.checkpoints import load_ddpm_pipeline
from diffusion_core.device import gpu_seconds, gpu_task
from diffusion_core.figures import to_image
from diffusion_core.sampling import bundled_ddpm
from ui.common import views_in_languages
from ui.compare_tab.text import SAMPLER_NAMES, TEXT
from ui.context import DEVICE
from ui.errors import as_choice, as_choices, as_int, as_seed
from ui.i18n import normalize_language, pick

LAB_MODES = ("rand", "no_scaling", "few_steps", "undertrained")  # the toggles; "correct" is always shown
MODE_KEYS = {mode: f"mode_{mode}" for mode in LAB_MODES}  # each toggle's text key
GRID_KEYS = {"correct": "label_correct", **MODE_KEYS}  # each grid's label key, in the order shown
LAB_SAMPLERS = ("ddim", "dpm++", "euler", "ddpm")

FAILURES_CODE = """import torch
from diffusion_core import comparison_lab, metrics
from diffusion_core.checkpoints import load_ddpm_pipeline
from diffusion_core.sampling import scheduler_sample, final_sample

pipe = load_ddpm_pipeline()
generator = torch.Generator().manual_seed({seed})
# correct: x_T ~ randn, {steps} {sampler} steps, then [-1, 1] -> [0, 1]
x = final_sample(scheduler_sample(pipe.unet, pipe.scheduler, "{sampler}", {steps}, {n}, generator=generator))
images = (x * 0.5 + 0.5).clamp(0, 1)
print(metrics.measure(images).confidence)  # mean classifier confidence

# the mistakes, one at a time (same seed):
#   rand:        comparison_lab.generate(pipe.unet, pipe.scheduler, "{sampler}", {steps}, {n}, {seed}, start="rand")
#   no scaling:  x.clamp(0, 1)   # shown without x * 0.5 + 0.5
#   few steps:   comparison_lab.generate(pipe.unet, pipe.scheduler, "{sampler}", {few}, {n}, {seed})
#   undertrained: load_ddpm_pipeline("assets/checkpoints/ddpm_mnist/early/step_...") and sample the same way
"""


@functools.lru_cache(maxsize=1)
def early_unet() -> tuple[nn.Module, int] | None:
    """The earliest bundled DDPM checkpoint (``ddpm_mnist/early/step_*``, frozen) and its step, or None."""
    found = comparison_lab.early_checkpoints()
    if not found:
        return None
    pipeline = load_ddpm_pipeline(found[0], device=str(DEVICE))
    for parameter in pipeline.unet.parameters():
        parameter.requires_grad_(False)
    return pipeline.unet, int(found[0].name.split("_")[-1])


def quality_failures_gpu_seconds(modes: Any = None, sampler: Any = None, steps: Any = 0, *_: Any, **__: Any) -> int:
    """ZeroGPU quota of one ``quality_failures`` call: up to five sampling runs of ``steps`` steps."""
    return gpu_seconds(steps, 0.1, base=15, cap=120)


@gpu_task(quality_failures_gpu_seconds)
def quality_failures(modes: Any, sampler: Any, steps: Any, few: Any, n: Any, seed: Any, lang: Any,
                     progress=gr.Progress()):  # noqa: B008  # fmt: skip
    """Handler of the ``quality_failures`` API.

    Args:
        modes: some of ``LAB_MODES``; sampler: one of ``LAB_SAMPLERS``; steps: 2..50 (the correct
        run); few: 1..10 (the "too few steps" run); n: images per grid, 4..32; seed: 0..2**31-1.

    Returns:
        (correct image, correct caption, then image + caption for each of ``LAB_MODES``, code, the captions
        in every language: ``views_in_languages``). Modes not switched on get no image and an empty caption.
    """
    lang = normalize_language(lang)
    modes = as_choices(modes, "modes", LAB_MODES)
    sampler = as_choice(sampler, "sampler", LAB_SAMPLERS)
    steps = as_int(steps, "steps", 2, 50)
    few = as_int(few, "few steps", 1, 10)
    n = as_int(n, "images", 4, 32)
    seed = as_seed(seed)
    pipe = bundled_ddpm(str(DEVICE))
    images: list[Any] = []
    captions: list[Callable[[str], str]] = []  # each grid's caption, in a given language
    planned = ["correct", *[m for m in LAB_MODES if m in modes]]
    for mode in GRID_KEYS:
        if mode not in planned:
            images.append(None)
            captions.append(lambda language: "")
            continue
        progress(planned.index(mode) / len(planned), desc=mode)
        early, early_step = None, 0
        if mode == "undertrained":
            found = early_unet()
            if found is None:
                images.append(None)
                captions.append(lambda language: pick(TEXT, "say_undertrained_missing", language))
                continue
            early, early_step = found
        result = comparison_lab.failure_samples(
            mode, pipe.unet, pipe.scheduler, n=n, sampler=sampler, steps=steps, few_steps=few, seed=seed,
            early_unet=early,
        )  # fmt: skip
        images.append(to_image(result.images, nrow=8, scale=3))

        def caption(language: str, mode: str = mode, result: Any = result, step: int = early_step) -> str:
            sentence = pick(TEXT, f"say_{mode}", language).format(
                sampler=SAMPLER_NAMES[sampler], steps=steps, few=few, step=step
            )
            measured = pick(TEXT, "measured", language).format(
                conf=result.confidence, bal=result.class_balance, low=result.raw_min, high=result.raw_max
            )
            return f"{sentence}\n\n*{measured}*"

        captions.append(caption)
    views = views_in_languages(lambda language: [caption(language) for caption in captions], lang)
    code = FAILURES_CODE.format(seed=seed, steps=steps, sampler=sampler, n=n, few=few)
    return (*(item for pair in zip(images, views[lang], strict=True) for item in pair), code, views)
