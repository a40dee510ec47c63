"""Views drawn when a learner first needs them, not when the app is built.

Tab builders run no model for their widgets' first values: a view that runs a network, traces
one, draws an image grid (torchvision) or needs a diffusers scheduler would cost the cold start
seconds (ARCHITECTURE.md, "Start-up"). Such a view starts empty and its handler also listens to

* ``ctx.openings.first_open(tab)``: the first time the learner opens ``tab`` in this session; later visits
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
from anyio import to_thread

from diffusion_core.lazy_imports import ensure_imported, imported


class TabOpenings:
    """The first opening of each tab in a session, as events: one ``select`` listener on the ``gr.Tabs``.

    Each tab's per-session flag is rendered after the tabs, outside the ``gr.Tabs``: Gradio 6.31's tab bar
    breaks when a component sits directly in a ``gr.Tabs`` instead of in one of its tabs (each tab opened
    then draws its button again, or takes another tab's button; reproduced with four plain tabs and a
    ``gr.State`` between them).
    """

    def __init__(self) -> None:
        self._flags: dict[str, gr.State] = {}  # tab id -> per-session "opened" flag

    def first_open(self, tab: gr.Tab) -> Callable[..., Any]:
        """An event that fires once per session, when the learner first opens ``tab`` (it needs an ``id``).

        It is the ``change`` listener of a per-session flag set by the container's ``select``; a ``gr.State``
        fires ``change`` only when its value changes, so only the first time. Put it among a ``gr.on``'s
        triggers, or call it as you would ``component.change(fn, inputs, outputs)``.
        """
        if tab.id is None:
            raise ValueError("first_open needs a tab built with an id")
        return self._flags.setdefault(str(tab.id), gr.State(False, render=False)).change

    def wire(self, tabs: gr.Tabs) -> None:
        """Render the flags and listen to ``tabs``' ``select`` once for all registered tabs (call it after the
        ``gr.Tabs``, outside it). The select is queued, without a concurrency limit: the page fires a State's
        ``change`` only after a queued event."""
        ids = list(self._flags)
        if not ids:
            return
        for flag in self._flags.values():
            flag.render()

        def opened(event: gr.SelectData) -> list[Any]:
            return [True if str(event.id) == tab_id else gr.skip() for tab_id in ids]

        outputs = [self._flags[tab_id] for tab_id in ids]
        tabs.select(opened, None, outputs, api_visibility="private", concurrency_limit=None, show_progress="hidden")


def uses_no_deferred_module(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an event handler that imports and uses none of ``diffusion_core.lazy_imports.DEFERRED``: the page's
    first events then run it at once instead of waiting for that import (``import_before_events``). Put it
    under the wrappers that copy attributes (``functools.wraps``); ``tests/test_lazy_imports.py`` runs every
    marked handler in a fresh Python and checks that it imports none of them."""
    handler.uses_no_deferred_module = True  # type: ignore[attr-defined]
    return handler


def _waits_for_imports(demo: gr.Blocks, block_fn: Any) -> bool:
    if isinstance(block_fn, int):
        block_fn = demo.fns[block_fn]
    return not getattr(getattr(block_fn, "fn", None), "uses_no_deferred_module", False)


def import_before_events(demo: gr.Blocks) -> gr.Blocks:
    """Run ``diffusion_core.lazy_imports.ensure_imported`` (in a worker thread) before each event of ``demo``.

    The first events of a page arrive together and would import diffusers and torchvision in several
    threads at once, which Python's import machinery does not survive (``diffusion_core.lazy_imports``);
    this way one thread imports and the others wait for it. Once imported, the check costs nothing. Handlers
    marked ``uses_no_deferred_module`` (the first tab's scrub data) do not wait: the page's first picture
    comes while the import runs.
    """
    process_api = demo.process_api

    async def process_api_after_imports(block_fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not imported() and _waits_for_imports(demo, block_fn):  # once imported, no hop to a worker thread
            await to_thread.run_sync(ensure_imported)
        return await process_api(block_fn, *args, **kwargs)

    demo.process_api = process_api_after_imports  # type: ignore[method-assign]
    return demo
