"""The Gradio user interface: one module per tab, plus shared language and error helpers.

Only this package and ``app.py`` import gradio; they read widgets, call ``diffusion_core``,
turn its records into pictures with ``diffusion_core.figures`` and return them.
"""
