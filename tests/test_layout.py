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
