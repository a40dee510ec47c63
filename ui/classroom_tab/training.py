"""Stop 4 · training: a fresh BasicUNet trained live for a few steps, and "which inputs does a trained
network predict best?", revealed with the bundled BasicUNet on the lesson's digits.

The run is short (a few seconds on 2 CPU cores) but still goes through ``ui.runs``: one training run per
session, its estimate against the server's cap, and the Training tab's concurrency pool.
"""

from __future__ import annotations

import time
from typing import Any

import gradio as gr
import torch
from PIL import Image

from diffusion_core.corruption import corrupt
from diffusion_core.data import mnist_batch
from ui.classroom_tab.questions import PIXELATED, build_question, committed, pick_first, verdict
from ui.classroom_tab.shared import DIGITS_SEED, LIGHT, TRAIN_POOL, lesson_digits
from ui.classroom_tab.text import TEXT, both
from ui.common import markdown
from ui.components import slider
from ui.context import DEVICE, AppContext
from ui.errors import as_int, friendly
from ui.i18n import normalize_language, pick

BATCH = 32
TRAIN_IMAGES = 1024  # MNIST digits the live run draws its batches from
MAX_STEPS = 40  # a few seconds on 2 CPU cores (about 0.1-0.3 s a step under load)
DEFAULT_STEPS = 10
UPDATE_EVERY_S = 0.5
CHOICES = {"left": "q4_left", "right": "q4_right", "same": "q4_same"}
CLEARLY = 2.0  # one side's error must be this many times smaller to be "better"
LOSS_LABELS = {
    "title": "MSE 损失 · loss",
    "x": "步 · step",
    "y": "MSE",
    "raw": "每步 · per step",
    "smoothed": "平滑 · smoothed",
}  # fmt: skip  (a plot cannot switch language in the page: both)


def stacked(rows: tuple[Image.Image, ...]) -> Image.Image:
    """The tutorial's three rows (input, corrupted, prediction) as one picture, top to bottom."""
    width, height = max(row.width for row in rows), sum(row.height for row in rows)
    picture = Image.new("RGB", (width, height), "white")
    top = 0
    for row in rows:
        picture.paste(row, (0, top))
        top += row.height
    return picture


def train_live(steps: Any, lang: Any, request: gr.Request | None = None):
    """Train a fresh BasicUNet (seed 0) for ``steps`` steps of batch 32, streaming the loss.

    Yields:
        (loss figure, status Markdown in both languages, the three rows of the model so far).
    """
    from diffusion_core import estimates, train_figures, training  # diffusers: on first use
    from ui import runs

    lang = normalize_language(lang)
    steps = as_int(steps, "steps", 1, MAX_STEPS)
    images = mnist_batch(TRAIN_IMAGES, DIGITS_SEED + 1)[0]
    config = training.TrainConfig(model="basic", steps=steps, epochs=None, batch_size=BATCH, seed=DIGITS_SEED,
                                  device=DEVICE.type, fast=training.fast_path_pays(DEVICE, "basic"),
                                  ).validate(len(images))  # fmt: skip
    preview = lesson_digits()[0]
    with runs.heavy_run(request, "train", lang) as run:
        model = training.build_model("basic", seed=DIGITS_SEED).to(DEVICE)  # timed where it trains
        run.admit(estimates.training_estimate(model, steps, BATCH, (1, 28, 28), previews=1,
                                              bf16=training.autocasts(config, DEVICE)))  # fmt: skip
        xs: list[int] = []
        losses: list[float] = []
        last = 0.0
        for record in training.train_x0(model, images, config):
            xs.extend(range(record.step - len(record.step_losses) + 1, record.step + 1))
            losses.extend(record.step_losses)
            done = record.step >= steps or run.stop_reason() is not None
            if not done and time.perf_counter() - last < UPDATE_EVERY_S:
                continue
            status = both("train_status", step=record.step, n=steps, loss=losses[-1], first=losses[0],
                          seconds=record.seconds)  # fmt: skip
            rows = (
                stacked(train_figures.preview_rows("basic", model.eval(), preview, DIGITS_SEED)) if done else gr.skip()
            )
            model.train()
            yield train_figures.loss_figure(xs, losses, False, LOSS_LABELS), status, rows
            last = time.perf_counter()
            if done:
                return


def column_errors() -> tuple[list[float], Image.Image]:
    """The bundled BasicUNet on the lesson's digits corrupted by amount = linspace(0, 1, 8): each column's MSE
    against the clean digit, and the tutorial's three rows."""
    from diffusion_core import sampling, train_figures  # diffusers: on first use

    net = sampling.bundled_basic_unet(str(DEVICE))
    x = lesson_digits()[0]
    corrupted = corrupt(x, torch.linspace(0, 1, x.shape[0]), generator=torch.Generator().manual_seed(DIGITS_SEED))
    with torch.no_grad():
        prediction = net(corrupted.to(DEVICE)).float().cpu()
    errors = ((prediction - x) ** 2).mean(dim=(1, 2, 3)).tolist()
    return errors, stacked(train_figures.preview_rows("basic", net, x, DIGITS_SEED))  # the same corruption draw


def reveal(chosen: Any) -> tuple:
    """Reveal of question 4: (verdict, the three rows of the trained network)."""
    if not committed(chosen, CHOICES):
        return pick_first(), gr.update()
    errors, rows = column_errors()
    left, right = sum(errors[:3]) / 3, sum(errors[-3:]) / 3
    truth = "left" if left * CLEARLY < right else "right" if right * CLEARLY < left else "same"
    listed = ", ".join(f"{error:.3f}" for error in errors)
    return verdict(chosen, truth, CHOICES, lambda lang: pick(TEXT, "a4", lang).format(errors=listed)), rows


def widget(ctx: AppContext) -> None:
    """The live widget: steps, Train, the loss curve, the status and the fresh network's three rows."""
    loc = ctx.loc
    with gr.Row(equal_height=True):
        steps = loc.widget(slider, TEXT, "train_steps", minimum=1, maximum=MAX_STEPS, value=DEFAULT_STEPS, step=1,
                           name="steps", elem_id="class-train-steps", scale=3)  # fmt: skip
        start = loc.text(gr.Button, TEXT, "train", variant="primary", elem_id="class-train", scale=1, min_width=160)
    status = markdown("", elem_id="class-train-status")
    plot = gr.Plot(show_label=False, elem_id="class-train-loss")
    rows = loc.widget(gr.Image, TEXT, "train_rows", elem_id="class-train-rows", **PIXELATED)
    start.click(friendly(train_live), [steps, ctx.lang], [plot, status, rows], api_visibility="private",
                show_progress_on=status, **TRAIN_POOL)  # fmt: skip


def question(ctx: AppContext) -> None:
    """Question 4: which inputs does a trained network predict best?"""
    block = build_question(ctx.loc, "q4", CHOICES, picture_key="a4_image")
    block.reveal.click(friendly(reveal), block.answer, [block.result, block.picture], **LIGHT)
