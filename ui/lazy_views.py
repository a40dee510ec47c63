"""Views drawn when a learner first needs them, not when the app is built.

Tab builders run no model for their widgets' first values: a view that runs a network, traces
one, draws an image grid (torchvision) or needs a diffusers scheduler would cost the cold start
seconds (ARCHITECTURE.md, "Start-up"). Such a view starts empty and its handler also listens to

* ``ctx.openings.first_open(tab)``: the first time the learner opens ``tab`` in this session; later visits
  draw nothing more;
* ``ctx.openings.view_language(tab)``, for a view that is worded (titles, labels, explanations): the
  first opening too, and every language switch after it. An English page sets its language as it
  loads; views of tabs nobody has opened are not drawn for that;
* ``ctx.page_load`` (``demo.load``), for the tab that is open when the page loads (it never fires
  ``select``): the Corruption tab.

The view is then drawn with the widgets' current values through the same event as a slider move,
so an older drawing can never overwrite a newer one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr
from anyio import to_thread

from diffusion_core.lazy_imports import ensure_imported, imported
from ui.i18n import normalize_language


class TabOpenings:
    """The first opening of each tab in a session, and the language its views are drawn in, as events.

    Two kinds of per-session ``gr.State`` per tab, set by one ``select`` listener on the ``gr.Tabs``: an
    "opened" flag, and the language the tab's worded views are drawn in (None until the tab is opened; a
    language listener keeps it in step with the page's from then on). A ``gr.State`` fires ``change`` only
    when its value changes, so the events fire only when something is to be drawn.

    The states are rendered after the tabs, outside the ``gr.Tabs``: Gradio 6.31's tab bar breaks when a
    component sits directly in a ``gr.Tabs`` instead of in one of its tabs (each tab opened then draws its
    button again, or takes another tab's button; reproduced with four plain tabs and a ``gr.State`` between
    them).
    """

    def __init__(self) -> None:
        self._flags: dict[str, gr.State] = {}  # tab id -> per-session "opened" flag
        self._languages: dict[str, gr.State] = {}  # tab id -> per-session language of its views (None: unopened)

    @staticmethod
    def _tab_id(tab: gr.Tab) -> str:
        if tab.id is None:
            raise ValueError("a tab's openings need a tab built with an id")
        return str(tab.id)

    def first_open(self, tab: gr.Tab) -> Callable[..., Any]:
        """An event that fires once per session, when the learner first opens ``tab`` (it needs an ``id``).

        Put it among a ``gr.on``'s triggers, or call it as you would ``component.change(fn, inputs, outputs)``.
        """
        return self._flags.setdefault(self._tab_id(tab), gr.State(False, render=False)).change

    def view_language(self, tab: gr.Tab) -> Callable[..., Any]:
        """An event for a view of ``tab`` that is worded in the page's language: it fires when the learner first
        opens the tab, and on every language switch after that; never for a tab nobody has opened.

        Use it instead of both ``first_open(tab)`` and ``lang.change`` (the handler takes the language radio
        as an input, as before). An English page sets its language as it loads: listening to ``lang.change``,
        the views of every tab were drawn for it, opened or not (measured: 23 server calls a page load, then 17).
        """
        return self._languages.setdefault(self._tab_id(tab), gr.State(None, render=False)).change

    def wire(self, tabs: gr.Tabs, lang: gr.Radio) -> None:
        """Render the states and set them: ``tabs``' ``select`` (once for all registered tabs) and ``lang``'s
        ``change``. Call it after the ``gr.Tabs``, outside it, after every other language listener: the page
        runs one trigger's listeners one after another, and these are queued (the page fires a State's
        ``change`` only after a queued event), without a concurrency limit."""
        flag_ids, language_ids = list(self._flags), list(self._languages)
        if not flag_ids and not language_ids:
            return
        flags, languages = list(self._flags.values()), list(self._languages.values())
        for state in [*flags, *languages]:
            state.render()
        quiet = {"api_visibility": "private", "concurrency_limit": None, "show_progress": "hidden"}

        @uses_no_deferred_module
        def tab_opened(page_language: Any, event: gr.SelectData) -> list[Any]:
            tab_id = str(event.id)
            return [True if flag_id == tab_id else gr.skip() for flag_id in flag_ids] + [
                normalize_language(page_language) if language_id == tab_id else gr.skip()
                for language_id in language_ids
            ]

        tabs.select(tab_opened, lang, [*flags, *languages], **quiet)
        if languages:
            lang.change(languages_of_opened_tabs, [lang, *languages], languages, **quiet)


def uses_no_deferred_module(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Mark an event handler that imports and uses none of ``diffusion_core.lazy_imports.DEFERRED``: the page's
    first events then run it at once instead of waiting for that import (``import_before_events``). Put it
    under the wrappers that copy attributes (``functools.wraps``); ``tests/test_lazy_imports.py`` runs every
    marked handler in a fresh Python and checks that it imports none of them."""
    handler.uses_no_deferred_module = True  # type: ignore[attr-defined]
    return handler


@uses_no_deferred_module
def languages_of_opened_tabs(page_language: Any, *drawn_in: Any) -> list[Any]:
    """``TabOpenings``' language listener: the page's new language for each tab that is open (its views are
    drawn in a language), nothing for the others."""
    return [gr.skip() if language is None else normalize_language(page_language) for language in drawn_in]


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
