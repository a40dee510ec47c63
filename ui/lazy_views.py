"""Views drawn when a learner first needs them, not when the app is built.

Tab builders run no model for their widgets' first values: a view that runs a network, traces
one, draws an image grid (torchvision) or needs a diffusers scheduler would cost the cold start
seconds (ARCHITECTURE.md, "Start-up"). Such a view starts empty and its handler also listens to

* ``first_open(tab)``: the first time the learner opens ``tab`` in this session; later visits
  draw nothing more;
* ``ctx.page_load`` (``demo.load``), for the tab that is open when the page loads (it never fires
  ``select``): the Corruption tab.

The view is then drawn with the widgets' current values through the same event as a slider move,
so an older drawing can never overwrite a newer one. (An English page also draws the views that
follow the language when it loads: the language switch.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr


def _opened() -> bool:
    return True


def first_open(tab: gr.Tab) -> Callable[..., Any]:
    """An event that fires once per session, when the learner first opens ``tab``.

    It is the ``change`` listener of a per-session flag that ``tab.select`` sets; a ``gr.State`` fires
    ``change`` only when its value changes, so only the first time. (The select is queued, without a
    concurrency limit: the page fires a State's ``change`` only after a queued event.) Put it among a
    ``gr.on``'s triggers, or call it as you would ``component.change(fn, inputs, outputs)``.
    """
    opened = gr.State(False)
    tab.select(_opened, None, opened, api_visibility="private", concurrency_limit=None, show_progress="hidden")
    return opened.change
