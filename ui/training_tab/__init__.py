"""Tab · 训练 / Training: watch BasicUNet (x0) or UNet2DModel (noise) learn, live.

One module per job:

* ``text``: the bilingual ``TEXT``, the lesson and the code templates (``training_code``).
* ``settings``: limits and defaults (steps, batch, preview interval).
* ``data``: the training images, MNIST or the learner's uploads, and the preview images.
* ``run``: the ``/train`` handler that streams a run, Stop, the GPU estimate, the loss plot.
* ``downloads``: ``/train_download`` and ``/train_reset`` of this session's model.
* ``controls``: private handlers that keep labels, visibility and defaults consistent.

The pictures themselves live in the core: ``diffusion_core.train_figures``.
"""

from __future__ import annotations

import gradio as gr

from diffusion_core.device import on_zero_gpu
from diffusion_core.training import DEFAULT_LR
from ui import runs
from ui.common import TEXT as COMMON
from ui.common import markdown
from ui.components import number, seed_number, slider
from ui.context import AppContext
from ui.errors import friendly
from ui.i18n import pick
from ui.training_tab import controls
from ui.training_tab.downloads import train_download, train_reset
from ui.training_tab.run import (
    TRAIN_CONCURRENCY,
    idle_rows,
    loss_plot,
    prepare_default_estimate,
    redraw_loss,
    request_stop,
    train,
)
from ui.training_tab.settings import (
    DEFAULT_BATCH,
    DEFAULT_PREVIEW_EVERY,
    DEFAULT_STEPS,
    MAX_BATCH,
    MAX_PREVIEW_EVERY,
    MAX_STEPS,
)
from ui.training_tab.text import TEXT, training_code

PRIVATE = {"api_visibility": "private", "queue": False}  # the small UI-only events
ROW = {"elem_classes": "pixelated", "height": 140, "format": "png"}  # the three preview rows


def build(ctx: AppContext) -> None:
    """Build the Training tab."""
    loc = ctx.loc
    with loc.widget(gr.Tab, TEXT, "tab", id="training") as tab:
        loc.text(markdown, TEXT, "lesson", elem_classes="lesson")
        with gr.Row():
            with gr.Column(scale=2):
                kind = loc.widget(gr.Radio, TEXT, "model", choices={"basic": "model_basic", "ddpm": "model_ddpm"},
                                  value="basic", elem_id="train-model")  # fmt: skip
                data = loc.widget(gr.Radio, TEXT, "data", choices={"mnist": "data_mnist", "upload": "data_upload"},
                                  value="mnist", elem_id="train-data")  # fmt: skip
                uploads = loc.widget(gr.File, TEXT, "upload", file_count="multiple", visible=False, height=120,
                                     elem_id="train-uploads")  # fmt: skip
                rgb = loc.widget(gr.Checkbox, TEXT, "rgb", value=False, visible=False, elem_id="train-rgb")
                # one slider a line: side by side, 1-5000 steps got a track about 100 px long
                steps = loc.widget(slider, TEXT, "steps", info="steps_info", minimum=1, maximum=MAX_STEPS,
                                   value=DEFAULT_STEPS, step=1, name="steps", elem_id="train-steps")  # fmt: skip
                batch = loc.widget(slider, TEXT, "batch", minimum=1, maximum=MAX_BATCH, value=DEFAULT_BATCH,
                                   step=1, name="batch size", elem_id="train-batch")  # fmt: skip
                with gr.Row():
                    lr = loc.widget(number, TEXT, "lr", info="lr_info", value=DEFAULT_LR["basic"], minimum=1e-7,
                                    maximum=1.0, name="learning rate", elem_id="train-lr")  # fmt: skip
                    seed = loc.widget(seed_number, TEXT, "seed", elem_id="train-seed")
                preview_every = loc.widget(slider, TEXT, "preview_every", minimum=1, maximum=MAX_PREVIEW_EVERY,
                                           value=DEFAULT_PREVIEW_EVERY, step=1, name="preview every",
                                           elem_id="train-preview-every")  # fmt: skip
                with gr.Row():
                    start = loc.text(gr.Button, TEXT, "start", variant="primary", elem_id="train-start")
                    stop = loc.text(gr.Button, TEXT, "stop", variant="stop", elem_id="train-stop")
            with gr.Column(scale=3):
                status = markdown(pick(TEXT, "idle", "zh"), elem_id="train-status")
                plot = gr.Plot(loss_plot([], [], False, "zh"), show_label=False, elem_id="train-loss")
                log_scale = loc.widget(gr.Checkbox, TEXT, "log_scale", value=False, elem_id="train-log")
        # the rows before any run come from an untrained model: drawn when the tab is first opened (ui.lazy_views)
        row_input = loc.widget(gr.Image, TEXT, "row_input", elem_id="train-row-input", **ROW)
        # rows 2 and 3 are labelled by `controls.row_labels`, which follows both the model and the language
        row_noisy = gr.Image(label=pick(TEXT, "row_corrupted", "zh"), elem_id="train-row-noisy", **ROW)
        row_pred = gr.Image(label=pick(TEXT, "row_pred_x0", "zh"), elem_id="train-row-pred", **ROW)
        with gr.Row():
            download = loc.text(gr.Button, TEXT, "download", size="sm", elem_id="train-download")
            reset = loc.text(gr.Button, TEXT, "reset", size="sm", elem_id="train-reset")
        files = loc.widget(gr.File, TEXT, "files", file_count="multiple", height=90, elem_id="train-files")
        with loc.widget(gr.Accordion, COMMON, "code", open=False):
            initial_code = training_code("basic", DEFAULT_STEPS, DEFAULT_BATCH, DEFAULT_LR["basic"], 0, "mnist", False)
            code = gr.Code(initial_code, language="python")
        run_state = gr.State({}, time_to_live=60 * 60)

    ctx.openings.first_open(tab)(idle_rows, None, [row_input, row_noisy, row_pred], **PRIVATE)
    ctx.openings.first_open(tab)(prepare_default_estimate, None, None, api_visibility="private", concurrency_limit=1,
                                 concurrency_id="prepare_train_estimate", show_progress="hidden")  # fmt: skip
    kind.change(controls.model_changed, [kind, ctx.lang], [row_noisy, row_pred, lr], **PRIVATE)
    kind.change(controls.rgb_visibility, [data, kind], rgb, **PRIVATE)
    data.change(controls.upload_visibility, [data, kind], [uploads, rgb], **PRIVATE)
    ctx.lang.change(controls.row_labels, [kind, ctx.lang], [row_noisy, row_pred], **PRIVATE)
    ctx.lang.change(controls.idle_status, [status, ctx.lang, run_state], status, **PRIVATE)
    gr.on([log_scale.change, ctx.lang.change], redraw_loss, [run_state, log_scale, ctx.lang], plot, **PRIVATE)

    # the status says "queued" at once; Gradio shows the place in the queue on the outputs until the run starts
    train_event = start.click(runs.waiting_status, ctx.lang, status, **PRIVATE, show_progress="hidden").then(
        friendly(train),
        [kind, data, uploads, rgb, steps, batch, lr, seed, preview_every, log_scale, ctx.lang, ctx.session_models],
        [plot, row_input, row_noisy, row_pred, status, code, ctx.session_models, run_state],
        api_name="train",
        show_progress_on=status,  # the place in the queue and the timer on the status line; the plot stays clear
        **TRAIN_CONCURRENCY,
    )
    # on ZeroGPU the loop runs in a forked worker that cannot see the stop request: cancel the event there
    stop.click(request_stop, None, None, cancels=[train_event] if on_zero_gpu() else None, **PRIVATE)
    if on_zero_gpu():  # nor a language switch (runs.follow_language): the run's end is re-worded after it
        train_event.success(controls.idle_status, [status, ctx.lang, run_state], status, **PRIVATE).then(
            redraw_loss, [run_state, log_scale, ctx.lang], plot, **PRIVATE
        )
    download.click(friendly(train_download), [kind, ctx.session_models, ctx.lang], files, api_name="train_download")
    reset.click(
        friendly(train_reset),
        [kind, ctx.session_models, ctx.lang],
        [ctx.session_models, status],
        api_name="train_reset",
    )


__all__ = ["build"]
