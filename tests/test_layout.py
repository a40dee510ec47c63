"""The page's layout: rules that Gradio's frontend needs and that no single tab can see."""

from __future__ import annotations

import app


def _children_of_tabs(layout: dict, types: dict[int, str]) -> list[list[str]]:
    found = []
    for child in layout.get("children", []):
        if types.get(child["id"]) == "tabs":
            found.append([types[grandchild["id"]] for grandchild in child.get("children", [])])
        found.extend(_children_of_tabs(child, types))
    return found


def test_the_tabs_hold_only_tabs():
    """A component directly in a ``gr.Tabs`` (a ``gr.State`` made after a tab's ``with`` block) breaks Gradio
    6.31's tab bar: every tab opened after it draws its button again. Build states inside a tab, or with
    ``render=False`` and render them after the tabs (``ui.lazy_views.TabOpenings``)."""
    config = app.build_app().get_config_file()
    types = {component["id"]: component["type"] for component in config["components"]}
    tab_sets = _children_of_tabs(config["layout"], types)
    assert tab_sets, "no gr.Tabs in the page"
    for children in tab_sets:
        assert children and set(children) == {"tabitem"}, children


def test_a_language_switch_re_words_every_tab_before_it_redraws_a_view():
    """The page runs one trigger's listeners one after another, each waiting for the last to finish (Gradio 6.31;
    a listener's ``.success``/``.then`` chain is not waited for). So the language's own listeners are all quick,
    and the direct re-wording (status lines, plot titles) comes before the queued ones: the upload guards that
    start a view's redraw and the relays of the tabs' views (``TabOpenings.language_switch``), all registered
    after every tab (``ctx.after_all_tabs``). Behind the first tabs' redraws, the Training tab's status took
    2.5-3 s to switch language, and on a fresh server until diffusers was imported (BENCHMARKS.md)."""
    demo = app.build_app()
    lang = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "language")
    listeners = [
        block_fn
        for block_fn in demo.fns.values()
        if block_fn.fn is not None and (lang._id, "change") in map(tuple, block_fn.targets)
    ]
    names = [block_fn.name for block_fn in listeners]
    slow = [block_fn.name for block_fn in listeners if not getattr(block_fn.fn, "uses_no_deferred_module", False)]
    assert not slow, f"a slow handler listens to the language directly: {slow}"
    rewording = [i for i, block_fn in enumerate(listeners) if not block_fn.queue]
    queued = [i for i, block_fn in enumerate(listeners) if block_fn.queue]
    assert {names[i] for i in rewording} >= {"idle_status", "status_in_language", "redraw_loss", "quality_view"}
    assert {names[i] for i in queued} == {"wait_for_upload", "language_if_opened"}
    assert max(rewording) < min(queued), names


def test_only_opened_tabs_redraw_their_views_when_the_language_changes():
    """Tabs 2, 3 and 5 draw their views when first opened; a language change reaches those views only through a
    per-tab relay that passes it on once the tab is open. An English page sets the language as it loads, and
    drew every such view of tabs nobody had opened (0.7-1 s of server CPU a page load, measured)."""
    demo = app.build_app()
    lang = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "language")
    by_lang = {block_fn.name for block_fn in demo.fns.values() if (lang._id, "change") in map(tuple, block_fn.targets)}
    for view in ("ddpm_noise", "trace_shapes", "unet2d_anatomy", "redraw_curve"):
        assert view not in by_lang
    relays = [block_fn for block_fn in demo.fns.values() if block_fn.name == "language_if_opened"]
    assert len(relays) == 3 and all((lang._id, "change") in map(tuple, relay.targets) for relay in relays)


def test_the_sampling_tab_draws_its_chart_before_it_prepares_the_forward():
    """On the tab's first opening the α̅ chart (quick) is drawn before the ONNX export and the forward's timing
    (~3 s on 2 cores), which the page would otherwise wait for: one trigger's listeners run one after another."""
    demo = app.build_app()
    prepare = next(block_fn for block_fn in demo.fns.values() if block_fn.name == "prepare_forward")
    first_open = tuple(prepare.targets[0])
    names = [block_fn.name for block_fn in demo.fns.values() if first_open in map(tuple, block_fn.targets)]
    assert names.index("redraw_curve") < names.index("prepare_forward"), names
