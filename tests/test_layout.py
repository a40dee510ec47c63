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


def _language_listeners(demo) -> list:
    lang = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "language")
    return [
        block_fn
        for block_fn in demo.fns.values()
        if block_fn.fn is not None and (lang._id, "change") in map(tuple, block_fn.targets)
    ]


def test_a_language_switch_re_words_every_tab_before_it_redraws_a_view():
    """The page runs one trigger's listeners one after another, each waiting for the last to finish (Gradio 6.31;
    a listener's ``.success`` chain is not waited for). So the language's own listeners are all quick, and the
    direct re-wording (status lines, plot titles) comes before the queued ones: the upload guard that starts the
    first tab's redraw (``ctx.after_all_tabs``) and the relay of the other tabs' view language. Behind the first
    tabs' redraws, the Training tab's status took 2.5-3 s to switch language, and on a fresh server until
    diffusers was imported (BENCHMARKS.md)."""
    listeners = _language_listeners(app.build_app())
    names = [block_fn.name for block_fn in listeners]
    slow = [block_fn.name for block_fn in listeners if not getattr(block_fn.fn, "uses_no_deferred_module", False)]
    assert not slow, f"a slow handler listens to the language directly: {slow}"
    rewording = [i for i, block_fn in enumerate(listeners) if not block_fn.queue]
    queued = [i for i, block_fn in enumerate(listeners) if block_fn.queue]
    assert {names[i] for i in rewording} >= {"idle_status", "status_in_language", "redraw_loss", "quality_view"}
    assert {names[i] for i in queued} == {"wait_for_upload", "languages_of_opened_tabs"}, names
    assert max(rewording) < min(queued), names


def test_the_worded_views_of_tabs_2_3_and_5_are_drawn_only_once_their_tab_is_open():
    """They listen to their tab's view language (``TabOpenings.view_language``), set when the tab is first opened
    and relayed by one language listener from then on, never to the language radio itself: an English page sets
    the language as it loads, and drew every such view of tabs nobody had opened."""
    demo = app.build_app()
    by_language = {block_fn.name for block_fn in _language_listeners(demo)}
    relay = next(block_fn for block_fn in demo.fns.values() if block_fn.name == "languages_of_opened_tabs")
    select = next(block_fn for block_fn in demo.fns.values() if block_fn.name == "tab_opened")
    tab_languages = {output._id for output in relay.outputs}
    assert len(tab_languages) == 3 and tab_languages <= {output._id for output in select.outputs}
    for view in ("ddpm_noise", "trace_shapes", "unet2d_anatomy", "redraw_curve"):
        assert view not in by_language, view
    views = {block_fn.name for block_fn in demo.fns.values()
             if any(target[0] in tab_languages and target[1] == "change" for target in block_fn.targets)}  # fmt: skip
    assert views == {"wait_for_upload", "unet2d_anatomy", "redraw_curve"}, views  # a guard starts the other two


def test_the_sampling_tab_draws_its_chart_apart_from_preparing_the_forward():
    """On the tab's first opening the α̅ chart (quick) is drawn by its own event, not after the ONNX export and the
    forward's timing (~3 s on 2 cores), which the page would wait for if both listened to one trigger."""
    demo = app.build_app()
    prepare = next(block_fn for block_fn in demo.fns.values() if block_fn.name == "prepare_forward")
    first_open = tuple(prepare.targets[0])
    names = [block_fn.name for block_fn in demo.fns.values() if first_open in map(tuple, block_fn.targets)]
    assert "redraw_curve" not in names, names
    assert any(block_fn.name == "redraw_curve" for block_fn in demo.fns.values())
