"""A fast cold start: building the app imports neither diffusers nor torchvision; their first use still works.

``diffusion_core.lazy_imports`` states the rule. Each check runs in a fresh Python (a subprocess), because the
test process itself has long imported everything. The timings are benchmarks (``bench --only startup``), not
tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gradio_client import Client

from diffusion_core.benchmarks.concurrency import app_process
from diffusion_core.lazy_imports import DEFERRED

ROOT = Path(__file__).resolve().parent.parent
WARM_UP_LINE = "imported diffusers and torchvision in the background"

# Builds the app, reports what it imported and whether the type hints of every handler that takes an argument
# Gradio fills in (``gr.Request``, ``gr.SelectData``...) resolve: Gradio finds those by their type hints, and
# silently stops finding them when a hint names a class imported only under TYPE_CHECKING. Then draws the three
# views that need the deferred modules, with the handlers the page calls (first use), and reports again.
BUILD_THEN_USE = """
import inspect, json, sys, typing
import app
from diffusion_core.lazy_imports import DEFERRED

demo = app.configure(app.build_app())
report = {"after_build": [name for name in DEFERRED if name in sys.modules], "unresolved_hints": [], "checked": 0}
for block_fn in demo.fns.values():
    fn = inspect.unwrap(block_fn.fn) if block_fn.fn is not None else None
    if fn is None or not any("gr." in str(p.annotation) for p in inspect.signature(fn).parameters.values()):
        continue
    report["checked"] += 1
    try:
        typing.get_type_hints(fn)
    except NameError as error:
        report["unresolved_hints"].append(f"{block_fn.name}: {error}")

from ui.corruption_tab import corrupt
from ui.inside_tab.unet2d import unet2d_anatomy
from ui.noising_tab import ddpm_noise

single, *_, formula, _ = corrupt("mnist", 0, 0.3, None, "en")
report["corrupt"] = [list(single.size), formula]
*_, formula, _, code = ddpm_noise("mnist", 0, None, "linear", 1000, 1e-4, 0.02, 250, "randn", "en")
report["ddpm_noise"] = [formula, code]
table, time_path, compare = unet2d_anatomy("32,64,64", 2, True, 8, 1, 28, 28, "en")
report["unet2d_anatomy"] = [table.to_csv(), time_path]
report["after_use"] = [name for name in DEFERRED if name in sys.modules]
print(json.dumps(report))
"""


def run_python(script: str) -> dict:
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_building_the_app_imports_no_deferred_module_and_their_first_use_works():
    report = run_python(BUILD_THEN_USE)
    assert report["after_build"] == [], f"building the app imported {report['after_build']}"
    assert report["unresolved_hints"] == [] and report["checked"] >= 4  # train, the samplers, a table's select...
    # first use: the handlers import what they need and draw the same views as ever
    width, height = report["corrupt"][0]
    assert width == height and width % 28 == 0 and "30%" in report["corrupt"][1]  # a digit, enlarged
    assert "t = 250" in report["ddpm_noise"][0] and "DDPMScheduler" in report["ddpm_noise"][1]
    assert "1,707,009" in report["unet2d_anatomy"][0] and "[8, 1, 28, 28]" in report["unet2d_anatomy"][1]
    assert set(report["after_use"]) == set(DEFERRED)


def test_importing_the_app_imports_gradio_without_its_stub_writer():
    """``ui.gradio_import``: gradio's ``.pyi`` writer (half of ``import gradio`` on 2 cores) is swapped out before
    gradio's first import, and the finder that did it leaves ``sys.meta_path``."""
    report = run_python(
        "import json, sys\n"
        "import app\n"
        "from ui.gradio_import import stub_writing_skipped\n"
        "print(json.dumps({'skipped': stub_writing_skipped(), 'finders': [type(f).__name__ for f in sys.meta_path]}))"
    )
    assert report["skipped"] is True
    assert "_StubWriterSkipper" not in report["finders"]


def test_skipping_the_stub_writer_after_gradio_is_imported_patches_it_at_once():
    import gradio  # noqa: F401  (imported long ago in this process, with its stub writer)

    from ui.gradio_import import skip_component_stub_writing, stub_writing_skipped

    skip_component_stub_writing()
    assert stub_writing_skipped()


# The handlers marked ``uses_no_deferred_module`` run without waiting for the deferred import: each is called as
# the page calls it, in a fresh Python after the build, and must import none of DEFERRED.
MARKED_HANDLERS_IMPORT_NOTHING = """
import json, sys
import gradio as gr
import app
from diffusion_core.lazy_imports import DEFERRED
from ui.training_tab.text import TEXT as TRAINING_TEXT

demo = app.configure(app.build_app())
marked = {block_fn.name: block_fn.fn for block_fn in demo.fns.values()
          if getattr(block_fn.fn, "uses_no_deferred_module", False)}
calls = {
    "wait_for_upload": ("mnist", None),
    "corruption_frames": ("mnist", 0, 0.3, None),
    # what a language switch calls on the Training, Sampling and Compare tabs
    "row_labels": ("ddpm", "en"),
    "idle_status": (TRAINING_TEXT["idle"]["zh"], "en", None),
    "redraw_loss": ({"steps": [1, 2], "losses": [1.0, 0.5]}, False, "en"),
    "status_in_language": ("", {"status": {"zh": "完成", "en": "Done"}}, "en"),
    "quality_view": (None, "en"),
    "last_result_in_language": ({"zh": ["完成"], "en": ["Done"]}, "en"),
    # what opening a tab and a language switch call for every tab (ui.lazy_views.TabOpenings)
    "tab_opened": ("en", gr.SelectData(None, {"index": 2, "value": "③", "id": "inside"})),
    "languages_of_opened_tabs": ("en", None, "zh", None),
    "follow_language": ("en", None),  # a switch reaching the session's runs (ui.runs); no session: nothing
}
results = {name: type(marked[name](*calls[name])).__name__ for name in calls if name in marked}
relayed = [value if isinstance(value, str) else None for value in marked["languages_of_opened_tabs"]("en", None, "zh")]
idle_in_english = marked["idle_status"](*calls["idle_status"]) == TRAINING_TEXT["idle"]["en"]
print(json.dumps({"marked": sorted(marked), "results": results, "idle_in_english": idle_in_english, "relayed": relayed,
                  "imported": [name for name in DEFERRED if name in sys.modules]}))
"""


def test_handlers_that_skip_the_import_gate_import_no_deferred_module():
    report = run_python(MARKED_HANDLERS_IMPORT_NOTHING)
    # a newly marked handler needs its call in the script above
    assert report["marked"] == sorted(
        ["corruption_frames", "wait_for_upload", "row_labels", "idle_status", "redraw_loss", "status_in_language",
         "quality_view", "last_result_in_language", "tab_opened", "languages_of_opened_tabs", "follow_language"]
    )  # fmt: skip
    assert report["results"] == {
        "wait_for_upload": "NoneType",
        "corruption_frames": "str",
        "row_labels": "tuple",
        "idle_status": "str",
        "redraw_loss": "Figure",
        "status_in_language": "str",
        "quality_view": "tuple",
        "last_result_in_language": "tuple",
        "tab_opened": "list",
        "languages_of_opened_tabs": "list",
        "follow_language": "NoneType",
    }
    assert report["idle_in_english"]
    assert report["relayed"] == [None, "en"]  # an unopened tab hears nothing; an opened one, the new language
    assert report["imported"] == [], f"a marked handler imported {report['imported']}"


def test_import_deferred_imports_every_deferred_module():
    report = run_python(
        "import json, sys\n"
        "from diffusion_core.lazy_imports import DEFERRED, import_deferred\n"
        "before = [name for name in DEFERRED if name in sys.modules]\n"
        "import_deferred()\n"
        "print(json.dumps({'before': before, 'after': [name for name in DEFERRED if name in sys.modules]}))"
    )
    assert report == {"before": [], "after": list(DEFERRED)}


@pytest.mark.api
def test_python_app_py_serves_then_warms_up_while_answering_the_first_calls(tmp_path):
    """``python app.py`` as a newcomer starts it: the first calls, sent the moment the page is served, race
    the background import of diffusers and torchvision; both finish, and the calls give the usual results."""
    log = tmp_path / "server.log"
    with app_process(log_path=log) as app:
        client = Client(app.url, verbose=False, download_files=False)
        frames = client.predict("mnist", 0, 0.3, None, api_name="/corruption_frames")  # does not wait for it
        corrupt = client.predict("mnist", 0, 0.3, None, "en", api_name="/corrupt")
        noised = client.predict(
            "mnist", 0, None, "linear", 1000, 1e-4, 0.02, 250, "randn", "en", api_name="/ddpm_noise"
        )
        anatomy = client.predict("32,64,64", 2, True, 8, 1, 28, 28, "en", api_name="/unet2d_anatomy")
        deadline = time.monotonic() + 300
        while WARM_UP_LINE not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
    text = log.read_text()
    assert WARM_UP_LINE in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert json.loads(frames)["shape"] == [8, 1, 28, 28]
    assert "30%" in corrupt[4]
    assert "t = 250" in noised[7]
    assert "1,707,009" in json.dumps(anatomy[0])
