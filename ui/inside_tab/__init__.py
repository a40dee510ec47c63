"""Tab 3 · 内部结构 / Inside the UNet: the tutorial's shape walk through BasicUNet, live, and UNet2DModel's anatomy.

One module per section of the lesson:

* ``text``: the tab's words (zh/en), including the tutorial's step names and the failure explanations;
* ``wording``: walk steps and failures (core data) turned into those words;
* ``basic_unet``: the live shape walk through BasicUNet (API ``/trace_shapes``) and its widgets;
* ``basic_unet_code``: the walk's code panel;
* ``unet2d``: UNet2DModel's anatomy (API ``/unet2d_anatomy``) and its code panel;
* this file: ``build`` (layout and event wiring).
"""

from __future__ import annotations

import gradio as gr

from ui.common import TEXT as COMMON
from ui.common import after_upload, markdown
from ui.context import AppContext
from ui.errors import friendly
from ui.inside_tab import basic_unet, unet2d
from ui.inside_tab.basic_unet import show_upload, step_of_row, trace_shapes
from ui.inside_tab.text import TEXT
from ui.inside_tab.unet2d import unet2d_anatomy, unet2d_code


def build(ctx: AppContext) -> None:
    """Build the Inside-the-UNet tab."""
    loc = ctx.loc
    # both walks run a model (the anatomy needs diffusers): they are drawn when the tab is first opened (lazy_views)
    with loc.widget(gr.Tab, TEXT, "tab", id="inside") as tab:
        loc.text(markdown, TEXT, "lesson", elem_classes="lesson")
        source, seed, channels, upload, batch, height, width, step = basic_unet.build_controls(loc)
        walk_outputs = basic_unet.build_outputs(loc)
        knobs, anatomy_outputs = unet2d.build_section(loc)
        with loc.widget(gr.Accordion, COMMON, "code", open=False):
            walk_code = gr.Code("", language="python")
            anatomy_code = gr.Code("", language="python")
    worded = ctx.openings.view_language(tab)  # the tab's first opening, and each language switch after it
    walk_inputs = [source, seed, batch, channels, height, width, upload, step]
    shape = [batch, channels, height, width]

    source.change(show_upload, source, upload, api_visibility="private", queue=False)

    after_upload([widget.change for widget in walk_inputs] + [worded], source, upload).success(
        fn=friendly(trace_shapes),
        inputs=[*walk_inputs, ctx.lang],
        outputs=[*walk_outputs, walk_code],
        api_name="trace_shapes",
        trigger_mode="always_last",
        show_progress="hidden",
    )
    gr.on(
        triggers=[widget.change for widget in [*knobs, *shape]] + [worded],
        fn=friendly(unet2d_anatomy),
        inputs=[*knobs, *shape, ctx.lang],
        outputs=list(anatomy_outputs),
        api_name="unet2d_anatomy",
        trigger_mode="always_last",
        show_progress="hidden",
    ).success(friendly(unet2d_code), [*knobs, *shape], anatomy_code, api_visibility="private", show_progress="hidden")
    step_table = walk_outputs[0]
    step_table.select(step_of_row, None, step, api_visibility="private", queue=False)
