"""Section ② of the Compare tab: x0-prediction vs noise-prediction (API ``/quality_objectives``).

BasicUNet guesses x0 directly; UNet2DModel predicts the noise, which implies a guess of x0. Both
get the same digits at a matched signal-to-noise ratio (``comparison_lab.compare_objectives``).
"""

from __future__ import annotations

from typing import Any

import torch

from diffusion_core import comparison_lab
from diffusion_core.data import mnist_batch
from diffusion_core.device import gpu_task
from diffusion_core.figures import to_image
from diffusion_core.quality_figures import objectives_figure
from diffusion_core.sampling import bundled_basic_unet, bundled_ddpm
from ui.common import views_in_languages
from ui.compare_tab.text import TEXT
from ui.context import DEVICE
from ui.errors import as_int, as_seed
from ui.i18n import normalize_language, pick

ROW_KEYS = ("row_clean", "row_basic_in", "row_basic_out", "row_ddpm_in", "row_ddpm_out")  # the five image rows
CURVE_T = (50, 150, 250, 350, 450, 550, 650, 750, 850, 950)  # the MSE-vs-t curve, plus the chosen t
IMAGES = 8  # digits compared
BASIC_NAME = "BasicUNet (x0)"  # the two models as the table and the chart name them, in both languages
DDPM_NAME = "UNet2DModel (ε → x0)"

OBJECTIVES_CODE = """import torch
from diffusion_core.checkpoints import load_basic_unet, load_ddpm_pipeline
from diffusion_core.corruption import corrupt
from diffusion_core.data import mnist_batch
from diffusion_core.device import pick_device

basic = load_basic_unet()          # predicts x0 from corrupt(x0, amount), images in [0, 1]
pipe = load_ddpm_pipeline()        # UNet2DModel predicts the noise, images in [-1, 1]
x0, _ = mnist_batch(8, seed={seed})  # (8, 1, 28, 28) in [0, 1]
generator = torch.Generator().manual_seed({seed})

t = {t}
alpha_bar = pipe.scheduler.alphas_cumprod[t]
snr = alpha_bar / (1 - alpha_bar)  # DDPM's signal-to-noise ratio at t
amount = 1 / (1 + (snr / 3).sqrt())  # the corrupt amount with the same SNR (uniform noise std = amount / sqrt(12))
with torch.no_grad():
    # 1. BasicUNet: uniform noise, direct guess of x0
    basic_guess = basic(corrupt(x0, amount.item(), generator=generator)).clamp(0, 1)
    # 2. UNet2DModel: Gaussian noise (DDPM eq. 4), predict the noise, solve for x0
    noise = torch.randn(x0.shape, generator=generator)
    x_t = alpha_bar.sqrt() * (x0 * 2 - 1) + (1 - alpha_bar).sqrt() * noise
    noise_pred = pipe.unet(x_t, torch.full((8,), t)).sample
    ddpm_guess = ((x_t - (1 - alpha_bar).sqrt() * noise_pred) / alpha_bar.sqrt() * 0.5 + 0.5).clamp(0, 1)
# 3. per-image MSE against the clean digits
print((basic_guess - x0).square().mean(dim=(1, 2, 3)))
print((ddpm_guess - x0).square().mean(dim=(1, 2, 3)))
"""


def mse_table(result: comparison_lab.ObjectiveComparison, lang: str) -> dict:
    """The per-image MSE of both guesses as a Dataframe value: image number (1..B), then two MSEs in [0, 1]."""
    pairs = zip(result.mse_basic, result.mse_ddpm, strict=True)
    return {
        "headers": [pick(TEXT, "mse_image", lang), BASIC_NAME, DDPM_NAME],
        "data": [[i + 1, round(float(b), 5), round(float(d), 5)] for i, (b, d) in enumerate(pairs)],
    }


@gpu_task(20)  # two forwards of 8 images per t, eleven t
def quality_objectives(t: Any, seed: Any, lang: Any) -> tuple:
    """Handler of the ``quality_objectives`` API.

    Args:
        t: the DDPM timestep, 0..999; seed: 0..2**31-1 (the digits and both noises); lang: ``"zh"``/``"en"``.

    Returns:
        (five image rows (8 digits each), per-image MSE table, summary markdown, MSE-vs-t figure, code, the
        table, summary and figure in every language: ``views_in_languages``).
    """
    lang = normalize_language(lang)
    t = as_int(t, "t", 0, 999)
    seed = as_seed(seed)
    pipe, basic = bundled_ddpm(str(DEVICE)), bundled_basic_unet(str(DEVICE))
    x0, _ = mnist_batch(IMAGES, seed)

    def compare(level: int) -> comparison_lab.ObjectiveComparison:
        return comparison_lab.compare_objectives(
            basic, pipe.unet, pipe.scheduler, x0, level, torch.Generator().manual_seed(seed)
        )

    result = compare(t)
    tensors = (result.x0, result.basic_input, result.basic_pred, result.ddpm_input, result.ddpm_pred)
    rows = [to_image(tensor, nrow=8, scale=3) for tensor in tensors]
    # the same comparison across noise levels, on the same digits and seed
    curve_t = sorted({*CURVE_T, t})
    others = [result if level == t else compare(level) for level in curve_t]
    mse_basic, mse_ddpm = [float(o.mse_basic.mean()) for o in others], [float(o.mse_ddpm.mean()) for o in others]

    def texts(language: str) -> tuple:  # the MSE table, the summary and the figure
        summary = pick(TEXT, "objectives_summary", language).format(
            t=t,
            snr=result.snr,
            amount=result.amount,
            basic=float(result.mse_basic.mean()),
            ddpm=float(result.mse_ddpm.mean()),
            wins=int((result.mse_ddpm < result.mse_basic).sum()),
            n=len(x0),
        )
        labels = {
            "title": pick(TEXT, "fig_objective", language),
            "x": pick(TEXT, "fig_objective_x", language),
            "y": pick(TEXT, "fig_objective_y", language),
            "basic": BASIC_NAME,
            "ddpm": DDPM_NAME,
        }
        return mse_table(result, language), summary, objectives_figure(curve_t, mse_basic, mse_ddpm, t, labels)

    views = views_in_languages(texts, lang)
    return (*rows, *views[lang], OBJECTIVES_CODE.format(t=t, seed=seed), views)
