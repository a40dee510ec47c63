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
    """The page runs one trigger's listeners one after another, each waiting for the last to finish (Gradio 6.31),
    so the quick re-wording (status lines, plot titles) is registered before the slow redraws that compute a view
    (``ctx.after_all_tabs``). Behind the first tabs' pictures, the Training tab's status took 2.5-3 s to switch
    language, and on a fresh server until diffusers was imported (BENCHMARKS.md)."""
    demo = app.build_app()
    lang = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "language")
    listeners = [
        block_fn
        for block_fn in demo.fns.values()
        if block_fn.fn is not None and any(tuple(target) == (lang._id, "change") for target in block_fn.targets)
    ]
    quick = [getattr(block_fn.fn, "uses_no_deferred_module", False) for block_fn in listeners]
    guards = [block_fn.name == "wait_for_upload" for block_fn in listeners]  # quick checks before a slow redraw
    rewording = [i for i, block_fn in enumerate(listeners) if quick[i] and not guards[i]]
    slow = [i for i in range(len(listeners)) if not quick[i]]
    assert {listeners[i].name for i in rewording} >= {
        "idle_status",
        "status_in_language",
        "redraw_loss",
        "quality_view",
    }
    assert slow and max(rewording) < min(slow), [block_fn.name for block_fn in listeners]


def test_the_sampling_tab_draws_its_chart_before_it_prepares_the_forward():
    """On the tab's first opening the α̅ chart (quick) is drawn before the ONNX export and the forward's timing
    (~3 s on 2 cores), which the page would otherwise wait for: one trigger's listeners run one after another."""
    demo = app.build_app()
    prepare = next(block_fn for block_fn in demo.fns.values() if block_fn.name == "prepare_forward")
    first_open = tuple(prepare.targets[0])
    names = [block_fn.name for block_fn in demo.fns.values() if first_open in map(tuple, block_fn.targets)]
    assert names.index("redraw_curve") < names.index("prepare_forward"), names
