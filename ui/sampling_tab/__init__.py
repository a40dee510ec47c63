"""Tab 5 · 采样 / Sampling: the tutorial's mix sampler, the DDPM loop step by step, and ``DDPMPipeline``.

One module per section of the lesson; this file only lays them out and wires their events.

* ``text``: the tab's bilingual strings.
* ``mix``: **A**, the tutorial's 5-step mix sampler with BasicUNet (``/mix_sample``, scrub, play).
* ``scheduler_loop``: **B**, DDPM / DDIM / DPM-Solver++ / Euler step by step (``/ddpm_sample``,
  scrub, the alpha_bar curve, GIF and PNG).
* ``pipeline``: **C**, ``DDPMPipeline`` (``/pipeline_sample``, ``/save_pipeline``, Hub models).
* ``shared``: limits, grid sizes, and which model a run uses (this session's, else the bundled).
"""

from __future__ import annotations

import gradio as gr

from diffusion_core.device import on_zero_gpu
from ui import runs
from ui.client_scrub import follow_frames, play_js, settled
from ui.common import markdown
from ui.context import AppContext
from ui.errors import friendly
from ui.sampling_tab import mix, pipeline, scheduler_loop
from ui.sampling_tab.shared import SECTIONS, status_in_language
from ui.sampling_tab.text import TEXT


def build(ctx: AppContext) -> None:
    """Build the Sampling tab: sections A, B and C, their runs, scrubbers and language updates."""
    loc, lang = ctx.loc, ctx.lang
    with loc.widget(gr.Tab, TEXT, "tab", id="sampling") as tab:
        loc.text(markdown, TEXT, "lesson", elem_classes="lesson")
        a = mix.build_section(loc)
        b = scheduler_loop.build_section(loc)
        c = pipeline.build_section(loc)

    heavy = {"concurrency_limit": 2, "concurrency_id": "sample"}
    quiet = {"api_visibility": "private", "show_progress": "hidden"}
    at_once = {**quiet, "queue": False}  # the "queued" status and Stop answer before any queued run

    def start(section, handler, inputs, outputs, api_name, prepare=None):
        """``section.run`` says "queued" at once, then runs ``handler`` (queued, streamed); Stop ends it.

        ``prepare``, an optional ``(fn, inputs, outputs)``, runs first, unqueued by the heavy limit; if it fails
        (it writes its reason to the status and raises a silent error) the run does not start. Gradio's progress
        overlay (the place in the queue, the timer, a refusal's error) sits on the status line only: the pictures
        of the last run stay visible and unmarked until new ones arrive."""
        event = section.run.click(runs.waiting_status, lang, section.status, **at_once)
        if prepare is not None:
            prepare_fn, prepare_inputs, prepare_outputs = prepare
            event = event.then(friendly(prepare_fn), prepare_inputs, prepare_outputs, concurrency_limit=None, **quiet)
        run = event = event.success(
            friendly(handler), inputs, outputs, api_name=api_name, show_progress_on=section.status, **heavy
        )
        # on ZeroGPU the run is in a forked worker that cannot see the stop request: cancel the event there
        section.stop.click(runs.stop_sampling, None, None, cancels=[event] if on_zero_gpu() else None, **at_once)
        return run

    # a finished run's steps are sent to the page once; scrubbing and playing them then happen in the page
    # (ui.client_scrub): no request per step
    run_a = start(a, mix.mix_sample, [a.steps, a.batch, a.seed, lang, ctx.session_models],
                  [a.figure, a.x, a.pred, a.scrub, a.state, a.status, a.code], "mix_sample")  # fmt: skip
    run_a.then(mix.mix_frames, a.state, a.frames, **quiet)
    follow_frames(a.scrub, "mix-frames", [a.x, a.pred])
    a.play.click(None, js=play_js("mix-frames", "mix-scrub", int(mix.PLAY_FRAME_S * 1000)), queue=False, **quiet)

    run_b = start(b, scheduler_loop.ddpm_sample, [b.scheduler, b.steps, b.batch, b.seed, lang, ctx.session_models],
                  [b.x_t, b.pred, b.noise, b.curve, b.status, b.state, b.scrub, b.final, b.gif, b.png, b.code],
                  "ddpm_sample")  # fmt: skip
    run_b.then(scheduler_loop.ddpm_frames, b.state, b.frames, **quiet)
    follow_frames(b.scrub, "ddpm-frames", [b.x_t, b.pred, b.noise, b.status])
    # the alpha_bar chart's cursor follows when the learner lets go of the scrubber (one request)
    gr.on([settled(b.frames)], scheduler_loop.redraw_curve, [lang, b.state, b.scrub], b.curve, queue=False,
          **quiet)  # fmt: skip

    # a missing model or a refused Hub id ends the run in the status, with no Error badges (see pipeline_prepare)
    run_c = start(c, pipeline.pipeline_sample, [c.source, c.hub_id, c.steps, c.batch, c.seed, lang, ctx.session_models],
                  [c.grid, c.status, c.code, c.state], "pipeline_sample",
                  prepare=(pipeline.pipeline_prepare, [c.source, c.hub_id, lang, ctx.session_models],
                           [c.status, c.grid]))  # fmt: skip
    c.save.click(pipeline.save_pipeline, [ctx.session_models, lang], c.zip, api_name="save_pipeline")

    # statuses and the alpha_bar chart follow the language too (the rest of the page switches in the browser)
    for name, section, run in zip(SECTIONS.values(), (a, b, c), (run_a, run_b, run_c), strict=True):
        reword = status_in_language(name)  # the idle hint, the running line or the last run's status
        lang.change(reword, [section.status, section.state, lang], section.status, **at_once)
        if on_zero_gpu():  # the run streamed from a forked worker, which a switch cannot reach: its end is re-worded
            run.success(reword, [section.status, section.state, lang], section.status, **at_once)  # not an error
    # B's alpha_bar chart needs diffusers' scheduler: drawn when the tab is first opened (ui.lazy_views), and
    # redrawn on each language switch after that
    ctx.openings.view_language(tab)(scheduler_loop.redraw_curve, [lang, b.state, b.scrub], b.curve,
                                    api_visibility="private", queue=False)  # fmt: skip
    # the bundled model's ONNX Runtime forward (diffusion_core.onnx_unet): exported while the learner reads the tab
    ctx.openings.first_open(tab)(scheduler_loop.prepare_forward, None, None, api_visibility="private",
                                 concurrency_limit=1, concurrency_id="prepare_forward", show_progress="hidden")  # fmt: skip
