"""Import gradio without its type-stub writer: about 1.5 s of a 2-core cold start.

Gradio 6.31's ``ComponentMeta`` calls ``gradio.component_meta.create_or_modify_pyi`` for every component class it
creates, including the ~80 built-in ones created by ``import gradio``: each call re-parses the class's whole source
file with ``ast`` and rewrites the ``.pyi`` stub beside it when the stub differs. That keeps a gradio developer's
editor stubs in sync; a served app never reads them. Profiled on the 2-core machine it was about half of
``import gradio`` (BENCHMARKS.md, the cold-start table). Nothing uses the function's result: it only writes files,
so skipping it changes no component.

Call ``skip_component_stub_writing()`` before the first ``import gradio`` (``app.py`` does, first thing). If gradio
is already imported, the built-in classes already paid for it, and only later classes (``ui.components``) skip it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

STUB_WRITER_MODULE = "gradio.component_meta"


def _write_no_stub(component_class: type, class_name: str, events: list) -> None:
    """Stands in for ``create_or_modify_pyi(component_class, class_name, events)``: writes no ``.pyi`` file."""


def _patch(module: ModuleType) -> None:
    module.create_or_modify_pyi = _write_no_stub


class _StubWriterSkipper(importlib.abc.MetaPathFinder):
    """Finds ``gradio.component_meta`` as usual, and swaps its stub writer out right after the module runs (before
    ``gradio.components`` creates a single class with its ``ComponentMeta``)."""

    def find_spec(self, fullname, path, target=None):
        if fullname != STUB_WRITER_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run_module(module)
            _patch(module)
            if self in sys.meta_path:  # its one job is done
                sys.meta_path.remove(self)

        spec.loader.exec_module = exec_module
        return spec


def skip_component_stub_writing() -> None:
    """Make gradio skip its ``.pyi`` writer from now on: at once if it is imported, else when it is."""
    if STUB_WRITER_MODULE in sys.modules:
        _patch(sys.modules[STUB_WRITER_MODULE])
    elif not any(isinstance(finder, _StubWriterSkipper) for finder in sys.meta_path):
        sys.meta_path.insert(0, _StubWriterSkipper())


def stub_writing_skipped() -> bool:
    """True once gradio is imported with its stub writer swapped out."""
    module = sys.modules.get(STUB_WRITER_MODULE)
    return module is not None and module.create_or_modify_pyi is _write_no_stub
