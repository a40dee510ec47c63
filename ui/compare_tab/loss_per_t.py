"""Section ③ of the Compare tab: the DDPM loss per timestep and its implicit weighting (API ``/quality_loss_t``)."""

from __future__ import annotations

from typing import Any

import gradio as gr
import torch

from diffusion_core import comparison_lab
from diffusion_core.data import mnist_batch
from diffusion_core.device import gpu_seconds, gpu_task
from diffusion_core.quality_figures import loss_figure
from diffusion_core.sampling import bundled_ddpm
from ui.common import views_in_languages
from ui.compare_tab.text import TEXT
from ui.context import DEVICE
from ui.errors import as_int, as_seed
from ui.i18n import normalize_language, pick

LOSS_CODE = """import torch
from diffusion_core import comparison_lab
from diffusion_core.checkpoints import load_ddpm_pipeline
from diffusion_core.data import mnist_batch
from diffusion_core.device import pick_device

pipe = load_ddpm_pipeline()
x0, _ = mnist_batch({n}, seed={seed})  # in [0, 1]; mapped to [-1, 1] inside
timesteps = torch.linspace(0, 999, {k}).long().tolist()
for r in comparison_lab.loss_per_timestep(pipe.unet, pipe.scheduler, x0, timesteps, torch.Generator().manual_seed({seed})):
    # noise MSE = the training loss at t; x0 MSE = noise MSE / SNR(t)
    print(r.t, round(r.noise_mse, 4), round(r.x0_mse, 4), round(r.snr, 3))
"""


def figure_labels(lang: str) -> dict[str, str]:
    """The texts of ``loss_figure`` in ``lang``."""
    keys = {"title": "fig_loss", "x": "fig_loss_x", "y": "fig_loss_y", "y2": "fig_loss_y2",
            "noise": "series_noise", "x0": "series_x0"}  # fmt: skip
    return {name: pick(TEXT, key, lang) for name, key in keys.items()}


def loss_summary(records: list[comparison_lab.TimestepLoss], n: int, lang: str) -> str:
    """The hardest and easiest t so far, and the mean noise MSE over the measured t."""
    hard = max(records, key=lambda r: r.noise_mse)
    easy = min(records, key=lambda r: r.noise_mse)
    mean = sum(r.noise_mse for r in records) / len(records)
    return pick(TEXT, "loss_summary", lang).format(
        n=n, k=len(records), hard_t=hard.t, hard=hard.noise_mse, easy_t=easy.t, easy=easy.noise_mse, mean=mean
    )


def quality_loss_t_gpu_seconds(n: Any = 0, points: Any = 0, *_: Any, **__: Any) -> int:
    """ZeroGPU quota of one ``quality_loss_t`` call: one forward of n images per point."""
    return gpu_seconds(points, 0.5, base=15, cap=90)


@gpu_task(quality_loss_t_gpu_seconds)
def quality_loss_t(n: Any, points: Any, seed: Any, lang: Any, progress=gr.Progress()):  # noqa: B008
    """Handler of the ``quality_loss_t`` API: the DDPM loss at evenly spaced t, streamed.

    Args:
        n: images, 4..64; points: how many t in 0..999, 5..50; seed: 0..2**31-1; lang: ``"zh"``/``"en"``.

    Yields:
        (figure, summary markdown, code, skipped) after every timestep but the last; after the last, the
        figure and summary in every language (``views_in_languages``) instead of the skip.
    """
    lang = normalize_language(lang)
    n = as_int(n, "images", 4, 64)
    count = as_int(points, "timesteps", 5, 50)
    seed = as_seed(seed)
    pipe = bundled_ddpm(str(DEVICE))
    x0, _ = mnist_batch(n, seed)
    timesteps = torch.linspace(0, 999, count).long().tolist()
    code = LOSS_CODE.format(n=n, k=count, seed=seed)
    records = []
    generator = torch.Generator().manual_seed(seed)
    for record in comparison_lab.loss_per_timestep(pipe.unet, pipe.scheduler, x0, timesteps, generator):
        records.append(record)
        progress(len(records) / count, desc=f"t = {record.t}")
        if len(records) < count:  # the views in every language only once, with the last timestep
            yield loss_figure(records, figure_labels(lang)), loss_summary(records, n, lang), code, gr.skip()
    views = views_in_languages(lambda language: (loss_figure(records, figure_labels(language)),
                                                 loss_summary(records, n, language)), lang)  # fmt: skip
    yield *views[lang], code, views
