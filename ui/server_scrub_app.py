"""The forward-process sliders wired the old way, every move a server event: the "before" of issue 15.

Until issue 15 the Corruption tab's amount and the DDPM tab's t called ``/corrupt`` and ``/ddpm_noise``
on every ``change`` and the server sent back the images, charts and formula. This page keeps that path,
with the same handlers (``ui.corruption_tab.corrupt``, ``ui.noising_tab.ddpm_noise``) and the same event
settings, so that the ``scrub`` benchmark can measure it beside the page-side scrubbing in one run.
Run: ``python -m ui.server_scrub_app PORT``.
"""

from __future__ import annotations

import sys

import gradio as gr

from ui.common import markdown
from ui.corruption_tab import corrupt
from ui.errors import friendly
from ui.noising_tab import ddpm_noise


def build() -> gr.Blocks:
    """Both sliders, each with the outputs its tab had, updated by the server on every change."""
    with gr.Blocks() as demo:
        lang = gr.State("en")
        source, seed, upload = gr.State("mnist"), gr.State(0), gr.State(None)
        amount = gr.Slider(0, 1, value=0.3, step=0.01, elem_id="corrupt-amount")
        first = corrupt("mnist", 0, 0.3, None, "en")
        corrupt_outputs = [
            gr.Image(first[0], elem_id="corrupt-single", format="png"),
            gr.Image(first[1], format="png"),
            gr.Image(first[2], format="png"),
            gr.Plot(first[3]),
            markdown(first[4]),
            gr.Code(first[5], language="python"),
        ]
        amount.change(
            friendly(corrupt), [source, seed, amount, upload, lang], corrupt_outputs, api_name="corrupt",
            trigger_mode="always_last", show_progress="hidden",
        )  # fmt: skip
        t = gr.Slider(0, 999, value=250, step=1, elem_id="ddpm-t")
        schedule = [gr.State("linear"), gr.State(1000), gr.State(1e-4), gr.State(0.02)]
        first = ddpm_noise("mnist", 0, None, "linear", 1000, 1e-4, 0.02, 250, "randn", "en")
        ddpm_outputs = [gr.Image(first[0], elem_id="ddpm-single", format="png")]
        ddpm_outputs += [gr.Image(image, format="png") for image in first[1:4]]
        ddpm_outputs += [gr.Plot(figure) for figure in first[4:7]]
        ddpm_outputs += [markdown(first[7]), markdown(first[8]), gr.Code(first[9], language="python")]
        t.change(
            friendly(ddpm_noise), [source, seed, upload, *schedule, t, gr.State("randn"), lang], ddpm_outputs,
            api_name="ddpm_noise", trigger_mode="always_last", show_progress="hidden",
        )  # fmt: skip
    return demo


if __name__ == "__main__":
    build().queue().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True)
