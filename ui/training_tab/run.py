"""A training run: start it (API ``/train``), stream its loss curve and previews, stop it; its GPU estimate.

``train`` streams ``diffusion_core.training``'s ``TrainStep`` records as a plotly loss curve, the
tutorial's three rows every N steps and a status line with throughput and ETA. The model trains in
place and is this session's model (``ctx.session_models``) from the first update on, so Stop
keeps what was learnt; the Sampling tab then uses it.
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING, Any

import gradio as gr

from diffusion_core import estimates, train_figures, training
from diffusion_core.device import gpu_seconds, gpu_task, to_host
from ui import runs
from ui.context import DEVICE, ON_GPU
from ui.errors import as_bool, as_choice, as_float, as_int, as_seed
from ui.i18n import LANGUAGES, normalize_language, pick
from ui.lazy_views import uses_no_deferred_module
from ui.training_tab.data import preview_images, training_images
from ui.training_tab.settings import (
    DEFAULT_BATCH,
    DEFAULT_PREVIEW_EVERY,
    DEFAULT_STEPS,
    MAX_BATCH,
    MAX_PREVIEW_EVERY,
    MAX_STEPS,
    MIN_SECONDS_BETWEEN_UPDATES,
    PREVIEW_COUNT,
)
from ui.training_tab.text import TEXT, session_summary, training_code

if TYPE_CHECKING:
    import plotly.graph_objects as go

logger = logging.getLogger(__name__)

TRAIN_CONCURRENCY = {"concurrency_id": "train", "concurrency_limit": 2}
LOSS_LABEL_KEYS = {"title": "plot_title", "x": "plot_x", "y": "plot_y", "raw": "raw", "smoothed": "smoothed"}


def request_stop(request: gr.Request) -> None:
    """Handler of the Stop button: the session's running ``train`` ends after its current step (``ui.runs``).

    A flag the loop reads, not a cancelled event: cancelling left Gradio's page showing "Error" badges on
    the outputs about one time in three.
    """
    runs.stop_training(request)


def loss_plot(steps: list[int], losses: list[float], log_scale: bool, lang: str) -> go.Figure:
    """The loss curve of ``steps``/``losses`` (one loss per step) with its labels in ``lang``."""
    labels = {name: pick(TEXT, key, lang) for name, key in LOSS_LABEL_KEYS.items()}
    return train_figures.loss_figure(steps, losses, log_scale, labels)


@uses_no_deferred_module  # a language switch re-words it at once, during the first import
def redraw_loss(run_state: Any, log_scale: Any, lang: Any) -> go.Figure:
    """Redraw the loss curve of the last run (log-scale toggle, language switch); ``run_state`` is ``train``'s."""
    run = run_state if isinstance(run_state, dict) else {}
    return loss_plot(run.get("steps", []), run.get("losses", []), bool(log_scale), normalize_language(lang))


def run_status(
    language: str, record: Any, steps: int, losses: list[float], reason: str | None, models: dict, run: runs.Run
) -> str:
    """The status line of a training update in ``language``: progress against the run's estimate; a finished,
    stopped (``reason == "stop"``) or capped (``reason == "cap"``) run adds how it ended and the session summary."""
    stopped = reason is not None
    text = pick(TEXT, "status", language).format(
        step=record.step,
        total=steps,
        epoch=record.epoch + 1,  # TrainStep.epoch counts from 0; learners count from 1
        seen=record.images_seen,
        loss=record.loss,
        smooth=train_figures.smooth(losses)[-1],
        rate=record.images_per_second,
        elapsed=_duration(record.seconds),
        eta="—" if stopped else _duration((steps - record.step) * record.seconds / record.step),
        device=DEVICE.type,
    )
    text += f" · {run.progress_line(language)}"
    if record.step >= steps or stopped:
        ending = pick(TEXT, "stopped", language) if reason == "stop" else pick(TEXT, "done", language)
        if reason == "cap":
            ending = "\n\n" + run.ended_line(reason, record.step, steps, language)
        text += ending + "\n\n" + session_summary(models, language)
    return text


def idle_rows() -> tuple:
    """The three rows shown before the first run: an untrained BasicUNet (seed 0) on the seed-0 MNIST previews."""
    model = training.build_model("basic", seed=0)
    return train_figures.preview_rows("basic", model, preview_images("mnist", None, 0), 0)


def prepare_default_estimate() -> None:
    """Time the default run's training step and preview (``estimates.training_estimate``, ~1.2 s on 2 cores, kept
    for ``estimates.CACHE_TTL_S``) when a learner first opens the tab, off CUDA, so the first Start trains at once
    (on a GPU a run times its step in milliseconds, and on ZeroGPU only a GPU task may run the model). A failure
    costs only speed (the run measures again), so it is logged, never shown."""
    if ON_GPU:
        return
    try:
        model = training.build_model("basic", seed=0).to(DEVICE)
        default_run = training.TrainConfig(model="basic", steps=DEFAULT_STEPS, batch_size=DEFAULT_BATCH,
                                           fast=training.fast_path_pays(DEVICE, "basic"))  # fmt: skip
        estimates.training_estimate(model, DEFAULT_STEPS, DEFAULT_BATCH, (1, 28, 28), previews=_previews(
            DEFAULT_STEPS, DEFAULT_PREVIEW_EVERY), preview_batch=PREVIEW_COUNT,
            bf16=training.autocasts(default_run, DEVICE))  # fmt: skip
    except Exception:
        logger.exception("could not time the default training run's step")


def _previews(steps: int, preview_every: int) -> int:
    """How many times a run draws the three rows: every ``preview_every`` steps, at the start and at the end."""
    return steps // preview_every + 2


def _duration(seconds: float) -> str:
    """``m:ss`` for a number of seconds, ``?`` when unknown (not finite)."""
    if not math.isfinite(seconds):
        return "?"
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def train_gpu_seconds(kind: Any = None, data: Any = None, uploads: Any = None, rgb: Any = None, steps: Any = 0,
                      *_: Any, **__: Any) -> int:  # fmt: skip
    """ZeroGPU quota of one ``train`` call: ~30 ms a step (batch up to 512, with previews), at most 5 minutes."""
    return gpu_seconds(steps, 0.03, base=20, cap=300)


@gpu_task(train_gpu_seconds)
def train(
    kind: Any,
    data: Any,
    uploads: Any,
    rgb: Any,
    steps: Any,
    batch: Any,
    lr: Any,
    seed: Any,
    preview_every: Any,
    log_scale: Any,
    lang: Any,
    session_models: Any,
    request: gr.Request | None = None,
):
    """Handler of the ``train`` API: stream the training of one model.

    The run is estimated first from one timed training step here (``ui.runs``: refused above the
    server's cap; one training run per session). Stop (the button) or the cap ends it after its current
    step with a final "stopped" update; an API client can also cancel the job (``job.cancel()``).
    Either way the session keeps the model.

    Yields:
        (loss figure, input row, corrupted/noised row, prediction row, status markdown, code,
        session models, run state ``{"steps", "losses", "kind"}``).
    """
    # 1. validate every widget value (the API can send anything)
    lang = normalize_language(lang)
    kind = as_choice(kind, "model", ("basic", "ddpm"))
    data = as_choice(data, "data", ("mnist", "upload"))
    rgb = as_bool(rgb, "rgb") and data == "upload"
    log_scale = as_bool(log_scale, "log_scale")
    steps = as_int(steps, "steps", 1, MAX_STEPS)
    batch = as_int(batch, "batch size", 1, MAX_BATCH)
    lr = as_float(lr, "learning rate", 1e-7, 1.0)
    seed = as_seed(seed)
    preview_every = as_int(preview_every, "preview every", 1, MAX_PREVIEW_EVERY)
    images = training_images(data, uploads, kind, rgb, lang)
    config = training.TrainConfig(
        model=kind,
        steps=steps,
        epochs=None,
        batch_size=batch,
        lr=lr,
        seed=seed,
        device=DEVICE.type,
        fast=training.fast_path_pays(DEVICE, kind),  # elsewhere the plain loop is as fast, and reports every step
    ).validate(len(images))

    with runs.heavy_run(request, "train", lang) as run:  # a Stop pressed before this run does not stop it
        yield from _train_run(run, kind, data, rgb, images, config, preview_every, log_scale, session_models)


def _train_run(run: runs.Run, kind: str, data: str, rgb: bool, images: Any, config: training.TrainConfig,
               preview_every: int, log_scale: bool, session_models: Any):  # fmt: skip
    """The body of ``train``: estimate, then stream the loop until done, Stop or the cap (its outputs)."""
    # every line is worded in run.lang when it is made: a language switch during the run reaches it (runs.follow_language)
    steps, batch, lr, seed = config.steps, config.batch_size, config.lr, config.seed
    code = training_code(kind, steps, batch, lr, seed, data, rgb)
    skip = gr.skip()
    yield (skip, skip, skip, skip, run.started_line(run.lang), code, skip, skip)

    # 2. the model: this session's from now on (trained in place, so Stop keeps what it learnt), on the device it
    #    trains on, where the estimate times its step
    model = training.build_model(kind, channels=images.shape[1], image_size=images.shape[-1], seed=seed).to(DEVICE)
    previews = _previews(steps, preview_every)
    run.admit(estimates.training_estimate(model, steps, batch, tuple(images.shape[1:]), previews=previews,
                                          preview_batch=PREVIEW_COUNT,
                                          bf16=training.autocasts(config, DEVICE)))  # fmt: skip
    yield (skip, skip, skip, skip, run.started_line(run.lang), code, skip, skip)
    if kind == "basic":
        entry = model
    else:  # diffusers is imported when first used (ARCHITECTURE.md, "Start-up")
        from diffusers import DDPMPipeline

        entry = DDPMPipeline(unet=model, scheduler=training.make_training_scheduler())
    models = {**(session_models if isinstance(session_models, dict) else {}), kind: entry}
    loop = training.train_x0(model, images, config) if kind == "basic" else training.train_eps(model, images, config)
    preview = preview_images(data, images, seed)

    # 3. stream: a curve update at most every MIN_SECONDS_BETWEEN_UPDATES, the three rows every N steps
    xs: list[int] = []
    losses: list[float] = []
    rows = train_figures.preview_rows(kind, model, preview, seed)
    last_update = 0.0
    for record in loop:
        first = record.step - len(record.step_losses) + 1
        xs.extend(range(first, record.step + 1))
        losses.extend(record.step_losses)
        reason = run.stop_reason() if record.step < steps else None
        stopped = reason is not None
        finished = record.step >= steps or stopped
        new_rows = record.step % preview_every == 0 or finished
        if not (new_rows or time.perf_counter() - last_update >= MIN_SECONDS_BETWEEN_UPDATES):
            continue
        if new_rows:
            rows = train_figures.preview_rows(kind, model, preview, seed)
            model.train()
        # the status in both languages: the page shows one, and a language switch re-words it from run_state
        statuses = {
            language: run_status(language, record, steps, losses, reason, models, run) for language in LANGUAGES
        }
        status = statuses[run.lang]
        run_state = {"steps": xs, "losses": losses, "kind": kind, "status": statuses}
        # on ZeroGPU this runs in a forked worker: hand back a CPU copy of the model (elsewhere the model itself)
        session = {**models, kind: to_host(entry)}
        yield (loss_plot(xs, losses, log_scale, run.lang), *rows, status, code, session, run_state)
        last_update = time.perf_counter()
        if stopped:
            return
