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

from ui.common import markdown
from ui.context import AppContext
from ui.errors import friendly
from ui.sampling_tab import mix, pipeline, scheduler_loop
from ui.sampling_tab.shared import idle_status
from ui.sampling_tab.text import TEXT


def build(ctx: AppContext) -> None:
    """Build the Sampling tab: sections A, B and C, their runs, scrubbers and language updates."""
    loc, lang = ctx.loc, ctx.lang
    with loc.widget(gr.Tab, TEXT, "tab", id="sampling"):
        loc.text(markdown, TEXT, "lesson", elem_classes="lesson")
        a = mix.build_section(loc)
        b = scheduler_loop.build_section(loc)
        c = pipeline.build_section(loc)

    heavy = {"concurrency_limit": 2, "concurrency_id": "sample"}
    quiet = {"api_visibility": "private", "show_progress": "hidden"}
    a.run.click(friendly(mix.mix_sample), [a.steps, a.batch, a.seed, lang, ctx.session_models],
                [a.figure, a.x, a.pred, a.scrub, a.state, a.status, a.code], api_name="mix_sample", **heavy)  # fmt: skip
    a.scrub.input(mix.mix_scrub, [a.scrub, a.state, lang], [a.x, a.pred], trigger_mode="always_last", **quiet)
    a.play.click(mix.mix_play, [a.state, lang], [a.scrub, a.x, a.pred], **quiet)

    b.run.click(friendly(scheduler_loop.ddpm_sample), [b.scheduler, b.steps, b.batch, b.seed, lang, ctx.session_models],
                [b.x_t, b.pred, b.noise, b.curve, b.status, b.state, b.scrub, b.final, b.gif, b.png, b.code],
                api_name="ddpm_sample", **heavy)  # fmt: skip
    b.scrub.input(scheduler_loop.ddpm_scrub, [b.scrub, b.state, lang], [b.x_t, b.pred, b.noise, b.curve, b.status],
                  trigger_mode="always_last", **quiet)  # fmt: skip

    # a missing model or a refused Hub id ends the run in the status, with no Error badges (see pipeline_prepare)
    prepared = c.run.click(friendly(pipeline.pipeline_prepare), [c.source, c.hub_id, lang, ctx.session_models],
                           [c.status, c.grid], api_visibility="private", show_progress="hidden",
                           concurrency_limit=None)  # fmt: skip
    prepared.success(friendly(pipeline.pipeline_sample), [c.source, c.hub_id, c.steps, c.batch, c.seed, lang,
                     ctx.session_models], [c.grid, c.status, c.code], api_name="pipeline_sample", **heavy)  # fmt: skip
    c.save.click(pipeline.save_pipeline, [ctx.session_models, lang], c.zip, api_name="save_pipeline")

    # texts drawn before any run follow the language too: the idle hints and the alpha_bar chart
    for status in (a.status, b.status):
        lang.change(idle_status, [status, lang], status, api_visibility="private", queue=False)
    lang.change(scheduler_loop.redraw_curve, [lang, b.state, b.scrub], b.curve, api_visibility="private", queue=False)
