"""Tab 6 · 对比 / Compare: measured sample quality, samplers side by side, objectives, failure modes.

One module per section of the lesson, each read widgets -> call the core (``diffusion_core.quality_curves``,
``comparison_lab``, ``metrics``) -> draw:

1. ``quality``: quality vs steps for DDPM / DDIM / DPM-Solver++ / Euler, precomputed by
   ``python -m diffusion_core eval``, with a small live recompute (API ``quality``);
2. ``objectives``: x0-prediction (BasicUNet) vs noise-prediction (UNet2DModel) on the same digits
   at matched noise levels (API ``quality_objectives``);
3. ``loss_per_t``: the DDPM loss per timestep and its implicit weighting (API ``quality_loss_t``);
4. ``failures``: the failure-mode lab (API ``quality_failures``).

The texts are in ``text``; this module only lays the tab out and wires its events.
"""

from __future__ import annotations

from functools import partial

import gradio as gr

from diffusion_core.device import on_zero_gpu
from diffusion_core.sampling import SAMPLERS
from ui import runs
from ui.common import TEXT as COMMON
from ui.common import in_language, markdown
from ui.compare_tab import failures, loss_per_t, objectives, quality
from ui.compare_tab.text import SAMPLER_NAMES, TEXT
from ui.components import checkbox_group, seed_number, slider
from ui.context import AppContext
from ui.errors import friendly
from ui.i18n import bilingual


def build(ctx: AppContext) -> None:
    """Build the Compare tab: the lesson, then sections ① to ④, then the code of the last run."""
    loc = ctx.loc
    figure, summary, numbers = quality.precomputed_view("zh")
    with loc.widget(gr.Tab, TEXT, "tab", id="compare"):
        loc.text(markdown, TEXT, "lesson", elem_classes="lesson")
        gr.Markdown(bilingual(quality.classifier_line("zh"), quality.classifier_line("en")))  # fixed: both at once

        # ① quality vs steps
        loc.text(gr.Markdown, TEXT, "curves_title")
        loc.text(markdown, TEXT, "curves_text")
        curves = gr.Plot(figure, elem_id="quality-curves", show_label=False)
        curves_info = markdown(summary, elem_id="quality-summary")
        with loc.widget(gr.Accordion, TEXT, "table", open=False):
            curves_table = markdown(numbers, elem_id="quality-table")
        with gr.Row():
            live_samplers = loc.widget(
                partial(checkbox_group, [(SAMPLER_NAMES[s], s) for s in SAMPLERS]), TEXT, "live_samplers",
                name="samplers", value=quality.LIVE_DEFAULTS["samplers"], elem_id="quality-samplers",
            )  # fmt: skip
            live_steps = loc.widget(
                partial(checkbox_group, list(quality.LIVE_STEPS)), TEXT, "live_steps",
                value=quality.LIVE_DEFAULTS["steps"], elem_id="quality-steps", name="steps",
            )  # fmt: skip
        with gr.Row():
            live_n = loc.widget(slider, TEXT, "live_n", info="live_n_info", minimum=8, maximum=quality.LIVE_MAX_N,
                                value=quality.LIVE_DEFAULTS["n"], step=8, name="n")  # fmt: skip
            live_seed = loc.widget(seed_number, TEXT, "seed")
            live_button = loc.text(gr.Button, TEXT, "live_button", variant="primary", elem_id="quality-run")
            live_stop = loc.text(gr.Button, runs.TEXT, "stop", variant="stop", elem_id="quality-stop", scale=0,
                                 min_width=100)  # fmt: skip

        # ② x0 vs noise prediction
        loc.text(gr.Markdown, TEXT, "objectives_title")
        loc.text(markdown, TEXT, "objectives_text")
        with gr.Row():
            obj_t = loc.widget(slider, TEXT, "t", info="t_info", minimum=0, maximum=999, value=500, step=1,
                               name="t", elem_id="objectives-t")  # fmt: skip
            obj_seed = loc.widget(seed_number, TEXT, "seed")
            obj_button = loc.text(gr.Button, TEXT, "objectives_button", variant="primary", elem_id="objectives-run")
        with gr.Row():
            with gr.Column(scale=3):
                obj_rows = [
                    loc.widget(gr.Image, TEXT, key, elem_classes="pixelated", height=110, buttons=[], interactive=False)
                    for key in objectives.ROW_KEYS
                ]
            with gr.Column(scale=2):
                obj_summary = markdown("", elem_id="objectives-summary")
                obj_table = gr.Dataframe(interactive=False, elem_id="objectives-mse", visible=False)  # shown by a run
                obj_figure = gr.Plot(show_label=False, elem_id="objectives-curve")

        # ③ loss per timestep
        loc.text(gr.Markdown, TEXT, "loss_title")
        loc.text(markdown, TEXT, "loss_text")
        with gr.Row():
            loss_n = loc.widget(slider, TEXT, "loss_n", minimum=4, maximum=64, value=16, step=4, name="images")
            loss_points = loc.widget(slider, TEXT, "loss_points", minimum=5, maximum=50, value=20, step=1,
                                     name="timesteps")  # fmt: skip
            loss_seed = loc.widget(seed_number, TEXT, "seed")
            loss_button = loc.text(gr.Button, TEXT, "loss_button", variant="primary", elem_id="loss-run")
        loss_plot = gr.Plot(show_label=False, elem_id="loss-curve")
        loss_info = markdown("", elem_id="loss-summary")

        # ④ failure-mode lab
        loc.text(gr.Markdown, TEXT, "lab_title")
        loc.text(markdown, TEXT, "lab_text")
        lab_modes = loc.widget(checkbox_group, TEXT, "lab_modes", choices=failures.MODE_KEYS, name="modes",
                               value=list(failures.LAB_MODES), elem_id="lab-modes")  # fmt: skip
        with gr.Row():
            lab_choices = [(SAMPLER_NAMES[s], s) for s in failures.LAB_SAMPLERS]
            lab_sampler = loc.widget(partial(gr.Dropdown, lab_choices), TEXT, "lab_sampler", value="ddim")
            lab_steps = loc.widget(slider, TEXT, "lab_steps", minimum=2, maximum=50, value=10, step=1, name="steps")
            lab_few = loc.widget(slider, TEXT, "lab_few", minimum=1, maximum=10, value=2, step=1, name="few steps")
            lab_n = loc.widget(slider, TEXT, "lab_n", minimum=4, maximum=32, value=8, step=4, name="images")
            lab_seed = loc.widget(seed_number, TEXT, "seed")
        lab_button = loc.text(gr.Button, TEXT, "lab_button", variant="primary", elem_id="lab-run")
        lab_outputs = []
        for mode, key in failures.GRID_KEYS.items():
            with gr.Row(equal_height=False):
                image = loc.widget(gr.Image, TEXT, key, elem_classes="pixelated", height=90, scale=3, buttons=[],
                                   interactive=False, elem_id=f"lab-{mode}")  # fmt: skip
                caption = markdown("", elem_id=f"lab-{mode}-text")
            lab_outputs += [image, caption]

        with loc.widget(gr.Accordion, COMMON, "code", open=False):
            code = gr.Code(quality.first_code(), language="python")
        # this session's last live recompute, re-worded on a language switch (inside the tab: see ui.lazy_views);
        # the other labs' last results in both languages (ui.common.views_in_languages), re-worded the same way
        live_result = gr.State(None)
        obj_views, loss_views, lab_views = gr.State(None), gr.State(None), gr.State(None)

    heavy = {"concurrency_id": "sample", "concurrency_limit": 2}
    live_inputs = [live_samplers, live_steps, live_n, live_seed, ctx.lang]
    live_views = [curves, curves_info, curves_table]
    live_run = live_button.click(friendly(quality.quality), live_inputs, [*live_views, code, live_result],
                                 api_name="quality", **heavy)  # fmt: skip
    # Stop ends the recompute after its current point, keeping the points so far (labelled partial); on ZeroGPU
    # the loop runs in a forked worker that sees neither the stop request nor a language switch: Stop cancels the
    # event there (the points streamed so far stay), and the run's end is re-worded after it
    live_stop.click(runs.stop_sampling, None, None, cancels=[live_run] if on_zero_gpu() else None,
                    api_visibility="private", show_progress="hidden", queue=False)  # fmt: skip
    if on_zero_gpu():
        live_run.success(quality.quality_view, [live_result, ctx.lang], live_views, api_visibility="private",
                         queue=False)  # fmt: skip
    obj_worded = [obj_table, obj_summary, obj_figure]
    obj_outputs = [*obj_rows, *obj_worded, code, obj_views]
    obj_run = obj_button.click(friendly(objectives.quality_objectives), [obj_t, obj_seed, ctx.lang], obj_outputs,
                               api_name="quality_objectives", **heavy)  # fmt: skip
    obj_run.success(lambda: gr.update(visible=True), None, obj_table, api_visibility="private", queue=False)
    loss_inputs = [loss_n, loss_points, loss_seed, ctx.lang]
    loss_run = loss_button.click(friendly(loss_per_t.quality_loss_t), loss_inputs,
                                 [loss_plot, loss_info, code, loss_views], api_name="quality_loss_t", **heavy)  # fmt: skip
    lab_inputs = [lab_modes, lab_sampler, lab_steps, lab_few, lab_n, lab_seed, ctx.lang]
    lab_run = lab_button.click(friendly(failures.quality_failures), lab_inputs, [*lab_outputs, code, lab_views],
                               api_name="quality_failures", **heavy)  # fmt: skip
    ctx.lang.change(quality.quality_view, [live_result, ctx.lang], live_views,
                    api_visibility="private", queue=False)  # fmt: skip
    # each lab's result in the page's language: after a switch, and after its run (a switch during the run found
    # the previous result, and the run words its result in the language it started in)
    for run, views, worded in (
        (obj_run, obj_views, obj_worded),
        (loss_run, loss_views, [loss_plot, loss_info]),
        (lab_run, lab_views, lab_outputs[1::2]),
    ):
        ctx.lang.change(in_language(len(worded)), [views, ctx.lang], worded, api_visibility="private", queue=False)
        run.then(in_language(len(worded), after_run=True), [views, ctx.lang], worded, api_visibility="private",
                 queue=False)  # fmt: skip
