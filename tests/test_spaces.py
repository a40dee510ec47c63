"""Hugging Face Spaces readiness: front matter, booting with and without ``spaces``, ZeroGPU wrapping.

ZeroGPU itself cannot run here; ``SPACES_ZERO_GPU=true`` with an unreachable device API makes the
real ``spaces`` package take its ZeroGPU code path (it patches torch and wraps decorated functions)
without a GPU, which is enough to check which handlers it wraps. Each boot runs in a subprocess,
because ``spaces`` patches torch for the whole process.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import gradio
import pytest

from diffusion_core import device
from diffusion_core.device import gpu_seconds, to_host
from diffusion_core.models import BasicUNet

ROOT = Path(__file__).resolve().parent.parent

# API names whose handlers run models on the GPU (ZeroGPU must wrap them) and the light ones it must not
GPU_HEAVY = {"train", "mix_sample", "ddpm_sample", "pipeline_sample", "quality", "quality_objectives",
             "quality_loss_t", "quality_failures"}  # fmt: skip
STREAMING = {"train", "mix_sample", "ddpm_sample", "quality", "quality_loss_t"}  # handlers that yield updates
LIGHT = {"corrupt", "ddpm_noise", "trace_shapes", "unet2d_anatomy", "train_download", "train_reset", "save_pipeline"}

# Prints {api_name: wrapped by ZeroGPU?} for every named endpoint of the built app
REPORT_WRAPPING = """
import inspect, json, sys
if {block_spaces}:
    sys.modules["spaces"] = None  # what an environment without the package looks like to `import spaces`
import app
from diffusion_core.device import on_zero_gpu
demo = app.build_app()

def wrapped(fn):
    while fn is not None:
        if hasattr(fn, "zerogpu"):
            return True
        fn = getattr(fn, "__wrapped__", None)
    return False

fns = [f for f in demo.fns.values() if f.api_name and f.fn is not None]
names = {{f.api_name: wrapped(f.fn) for f in fns}}
streams = sorted(f.api_name for f in fns if inspect.isgeneratorfunction(f.fn))
by_id = {{fn_id: f.api_name or f.name for fn_id, f in demo.fns.items()}}
cancelled = sorted({{by_id[i] for f in demo.fns.values() for i in (f.cancels or [])}})
after, after_success = {{}}, {{}}  # what runs right after each named event (its .then / .success; .success only)
for f in demo.fns.values():
    if f.trigger_after is not None:
        after.setdefault(by_id[f.trigger_after], []).append(f.name)
        if f.trigger_only_on_success:
            after_success.setdefault(by_id[f.trigger_after], []).append(f.name)
print(json.dumps({{"on_zero_gpu": on_zero_gpu(), "wrapped": names, "streams": streams, "cancelled": cancelled,
                  "after": after, "after_success": after_success}}))
"""
STOPPABLE = {"train", "mix_sample", "ddpm_sample", "pipeline_sample", "quality"}  # runs with a Stop button
REWORDING = {"idle_status", "status_in_language", "quality_view"}  # a status or view re-worded from the run's state


def boot(env_extra: dict[str, str], block_spaces: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPACES_", "ZEROGPU_"))}
    env.update(env_extra)
    result = subprocess.run(
        [sys.executable, "-c", REPORT_WRAPPING.format(block_spaces=block_spaces)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_readme_front_matter_is_complete():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, "README.md must start with a Spaces front matter block"
    fields = dict(line.split(":", 1) for line in match.group(1).splitlines() if ":" in line)
    fields = {k.strip(): v.strip().strip('"') for k, v in fields.items()}
    for key in ("title", "emoji", "colorFrom", "colorTo", "sdk", "sdk_version", "app_file", "python_version",
                "license", "short_description"):  # fmt: skip
        assert fields.get(key), f"front matter lacks {key}"
    assert fields["sdk"] == "gradio"
    assert fields["sdk_version"] == gradio.__version__, "the Space must run the gradio the tests ran"
    assert (ROOT / fields["app_file"]).is_file()
    assert len(fields["short_description"]) <= 60  # the Hub's limit
    assert re.fullmatch(r"3\.\d+", fields["python_version"])


def test_the_app_boots_without_the_spaces_package():
    report = boot({"SPACES_ZERO_GPU": "true"}, block_spaces=True)  # even where the variable is set
    assert report["on_zero_gpu"] is False
    assert not any(report["wrapped"].values())
    assert set(report["wrapped"]) >= GPU_HEAVY | LIGHT


def test_the_app_boots_with_spaces_installed_off_zero_gpu():
    pytest.importorskip("spaces")
    report = boot({})
    assert report["on_zero_gpu"] is False
    assert not any(report["wrapped"].values()), "off ZeroGPU every handler must stay as written (generators stream)"
    assert set(report["streams"]) >= STREAMING
    # Stop and a language switch reach the run itself (ui.runs): no event is cancelled, nothing re-worded after
    assert report["cancelled"] == []
    assert not any(REWORDING & set(report["after"].get(name, [])) for name in STOPPABLE), report["after"]


def test_zero_gpu_wraps_exactly_the_gpu_heavy_handlers():
    pytest.importorskip("spaces")
    report = boot({"SPACES_ZERO_GPU": "true", "SPACES_ZERO_DEVICE_API_URL": "http://127.0.0.1:9"})
    assert report["on_zero_gpu"] is True
    wrapped = {name for name, is_wrapped in report["wrapped"].items() if is_wrapped}
    assert wrapped == GPU_HEAVY, f"wrapped: {sorted(wrapped)}"
    assert set(report["streams"]) >= STREAMING, "ZeroGPU's wrapper must keep streaming handlers streaming"
    # the run is in a forked worker that neither a Stop request nor a language switch reaches (ui.runs): each Stop
    # cancels its event, and each run's end is re-worded in the page's language after it
    assert set(report["cancelled"]) == STOPPABLE, report["cancelled"]
    for name in STOPPABLE:
        assert REWORDING & set(report["after"].get(name, [])), f"{name} is followed by {report['after'].get(name)}"
        # only after a run that succeeded: an error's status must not be replaced by the last run's
        assert REWORDING & set(report["after_success"].get(name, [])), f"{name}: {report['after_success']}"


@pytest.mark.parametrize(
    ("work", "expected"),
    [
        (0, 10),
        (100, 13),
        (1000, 40),
        (10**9, 120),
        (float("nan"), 10),
        (math.inf, 10),
        (-5, 10),
        ("x", 10),
        (None, 10),
        ([1], 10),
    ],
)
def test_duration_estimates_are_bounded_for_any_request(work, expected):
    assert gpu_seconds(work, 0.03, base=10, cap=120) == expected


def test_every_gpu_handler_has_a_sane_duration_estimate():
    from ui import compare_tab, training_tab
    from ui.sampling_tab import mix, pipeline, scheduler_loop

    estimates = {
        "train, 5000 steps": training_tab.run.train_gpu_seconds("ddpm", "mnist", None, False, 5000),
        "train, 50 steps": training_tab.run.train_gpu_seconds("basic", "mnist", None, False, 50),
        "mix_sample, 5 steps": mix.mix_gpu_seconds(5, 8),
        "ddpm_sample, 1000 steps": scheduler_loop.ddpm_gpu_seconds("ddpm", 1000, 16),
        "ddpm_sample, 20 steps": scheduler_loop.ddpm_gpu_seconds("dpm++", 20, 16),
        "pipeline_sample, 1000 steps": pipeline.pipeline_gpu_seconds("bundled", "", 1000, 8),
        "quality, n=64": compare_tab.quality.quality_gpu_seconds(["ddim"], [5, 10], 64),
        "quality_loss_t, 20 points": compare_tab.loss_per_t.quality_loss_t_gpu_seconds(64, 20),
        "quality_failures, 50 steps": compare_tab.failures.quality_failures_gpu_seconds(["rand"], "ddim", 50),
    }
    for name, seconds in estimates.items():
        assert isinstance(seconds, int) and 10 <= seconds <= 300, (name, seconds)
    assert estimates["ddpm_sample, 1000 steps"] > estimates["ddpm_sample, 20 steps"]
    assert estimates["train, 5000 steps"] > estimates["train, 50 steps"]


def test_to_host_hands_back_a_cpu_copy_on_zero_gpu_only(monkeypatch):
    model = BasicUNet()
    assert to_host(model) is model  # off ZeroGPU the session keeps the model it trains
    monkeypatch.setattr(device, "on_zero_gpu", lambda: True)
    copy = to_host(model)
    assert copy is not model
    assert all(p.device.type == "cpu" for p in copy.parameters())
    assert all((a == b).all() for a, b in zip(copy.parameters(), model.parameters(), strict=True))
