"""A no-op Gradio app: one endpoint ``/noop`` that echoes a number.

The benchmarks (``python -m diffusion_core bench``) run it as a separate process to measure
Gradio's own round-trip floor on this machine, so each handler's added latency can be reported
above it. Run: ``python -m ui.noop_app PORT``.
"""

from __future__ import annotations

import sys

import gradio as gr


def build() -> gr.Blocks:
    """The no-op Blocks: a number in, the same number out."""
    with gr.Blocks() as demo:
        value = gr.Number()
        echo = gr.Number()
        gr.Button().click(lambda v: v, value, echo, api_name="noop")
    return demo


if __name__ == "__main__":
    build().queue().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True)
