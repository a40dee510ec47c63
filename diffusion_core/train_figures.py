"""Pictures of training runs, built from the losses of ``TrainStep`` records and the model being trained.

* ``smooth``: the debiased exponential moving average of a loss curve (TensorBoard's smoothing).
* ``loss_figure``: the plotly loss curve, raw per-step loss and its smoothing, linear or log scale.
* ``preview_rows``: the tutorial's three rows "input / corrupted (or noised) / network prediction".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
import torch
from PIL import Image

from diffusion_core.corruption import corrupt
from diffusion_core.data import to_model_range, to_unit_range
from diffusion_core.figures import PALETTE, style_figure, to_image
from diffusion_core.noising import predict_x0
from diffusion_core.training import make_training_scheduler

SMOOTHING = 0.9  # weight of the running average in the smoothed loss curve


def smooth(values: Sequence[float], weight: float = SMOOTHING) -> list[float]:
    """Debiased exponential moving average (TensorBoard's smoothing).

    Args:
        values: the per-step losses, oldest first.
        weight: the running average's weight in [0, 1); 0 returns ``values`` unchanged.

    Returns:
        One smoothed value per input value; the first equals ``values[0]``.
    """
    smoothed, average = [], 0.0
    for index, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        smoothed.append(average / (1 - weight ** (index + 1)))
    return smoothed


def loss_figure(steps: Sequence[int], losses: Sequence[float], log_scale: bool, labels: Mapping[str, str]) -> go.Figure:
    """The loss curve: raw per-step loss (thin, faint) and its debiased exponential smoothing (bold).

    Args:
        steps: the optimizer step of each loss, 1-based (the ``TrainStep.step`` values).
        losses: one loss per step (the ``TrainStep.step_losses``, concatenated); may be empty.
        log_scale: a logarithmic y axis instead of a linear one starting at 0.
        labels: texts for ``title``, ``x``, ``y``, ``raw`` and ``smoothed``.
    """
    fig = go.Figure()
    fig.add_scatter(
        x=list(steps),
        y=list(losses),
        mode="lines",
        name=labels["raw"],
        opacity=0.35,
        line={"color": PALETTE[0], "width": 1},
    )
    fig.add_scatter(
        x=list(steps),
        y=smooth(losses),
        mode="lines",
        name=labels["smoothed"],
        line={"color": PALETTE[1], "width": 2.5},
    )
    style_figure(fig, labels["title"], labels["x"], labels["y"])
    fig.update_yaxes(type="log" if log_scale else "linear", rangemode=None if log_scale else "tozero")
    return fig


@torch.no_grad()
def preview_rows(kind: str, model: torch.nn.Module, x: torch.Tensor, seed: int) -> tuple[Image.Image, ...]:
    """The tutorial's three rows for fixed images: (input, corrupted or noised, network prediction).

    For ``"basic"`` (BasicUNet, predicts x0) row 2 is ``corrupt`` with amount = linspace(0, 1, B)
    and row 3 the model's prediction. For ``"ddpm"`` (UNet2DModel, predicts the noise) row 2 is
    x_t at t = linspace(0, T - 1, B) and row 3 the x0 implied by the predicted noise
    (``predict_x0``), both mapped back to [0, 1].

    Args:
        kind: ``"basic"`` or ``"ddpm"``.
        model: the model being trained, on any device (its train/eval mode is left as it is).
        x (`torch.Tensor`, (B, C, H, W), in [0, 1], on the CPU): the preview images (the tutorial's B = 8).
        seed: seeds the corruption or Gaussian noise, so every preview of a run uses the same draw.

    Returns:
        Three RGB images, each one row of B cells, clipped to [0, 1] and enlarged 4x (28 or 32 pixels) or 2x.
    """
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    if kind == "basic":
        amount = torch.linspace(0, 1, x.shape[0])
        corrupted = corrupt(x, amount, generator=generator)
        prediction = model(corrupted.to(device)).float().cpu()
        rows = (x, corrupted, prediction)
    else:
        scheduler = make_training_scheduler()
        x0 = to_model_range(x)
        t = torch.linspace(0, scheduler.config.num_train_timesteps - 1, x.shape[0]).long()
        noise = torch.randn(x0.shape, generator=generator)
        x_t = scheduler.add_noise(x0, noise, t)
        noise_pred = model(x_t.to(device), t.to(device)).sample.float().cpu()
        x0_pred = predict_x0(x_t, noise_pred, scheduler.alphas_cumprod[t].view(-1, 1, 1, 1))
        rows = (x, to_unit_range(x_t), to_unit_range(x0_pred))
    scale = 4 if x.shape[-1] <= 32 else 2
    return tuple(to_image(row.clamp(0, 1), nrow=8, scale=scale) for row in rows)
