"""Section ① of the Compare tab: measured quality vs sampling steps (API ``/quality``).

The precomputed curves (``assets/quality_curves.json``, written by ``python -m diffusion_core eval``)
are shown when the tab opens; ``quality`` recomputes a small version live, one point at a time.
"""

from __future__ import annotations

import json
from typing import Any

import gradio as gr
import plotly.graph_objects as go

from diffusion_core import comparison_lab, cpu_speed, estimates, metrics, quality_curves
from diffusion_core.classifier import CLASSIFIER_DIR, CLASSIFIER_LOG
from diffusion_core.device import gpu_seconds, gpu_task
from diffusion_core.quality_figures import curves_figure
from diffusion_core.sampling import SAMPLERS, bundled_ddpm
from ui import runs
from ui.compare_tab.text import SAMPLER_NAMES, TEXT
from ui.context import DEVICE
from ui.errors import as_choices, as_int, as_seed
from ui.i18n import LANGUAGES, normalize_language, pick
from ui.lazy_views import uses_no_deferred_module

LIVE_STEPS = (1, 2, 5, 10, 20, 50)  # step counts the live recompute offers
LIVE_MAX_N = 64  # most samples per point the live recompute takes
SECTION = "compare.quality"  # the name its runs carry (ui.runs.running_in)
SCORE_SECONDS = 0.2  # the estimate's allowance for scoring one point's samples (the classifier's features)
LIVE_DEFAULTS = {"samplers": ["ddim", "dpm++", "euler"], "steps": [2, 5, 10], "n": 32, "seed": 0}

QUALITY_CODE = """import torch
from diffusion_core import comparison_lab, estimates, metrics, quality_curves
from diffusion_core.checkpoints import load_ddpm_pipeline

pipe = load_ddpm_pipeline()  # assets/checkpoints/ddpm_mnist (safetensors)
sample_fn = comparison_lab.sampling_function(pipe.unet, pipe.scheduler)  # diffusion_core.sampling.scheduler_sample in chunks
for point in quality_curves.quality_vs_steps(sample_fn, samplers={samplers}, steps={steps}, n={n}, seed={seed}):
    print(point.sampler, point.steps, f"FD {{point.fd:.1f}} (floor {{point.fd_floor:.1f}})",
          f"confidence {{point.confidence:.3f}}", f"balance {{point.class_balance:.3f}}")

# what one point does: sample, map [-1, 1] -> [0, 1], score with the feature classifier
x = comparison_lab.generate(pipe.unet, pipe.scheduler, "ddim", 20, n={n}, seed={seed})  # (n, 1, 28, 28)
report = metrics.measure((x * 0.5 + 0.5).clamp(0, 1))  # FD, its real-vs-real floor at n, confidence, balance
# the full curves file: python -m diffusion_core eval
"""


def classifier_line(lang: str) -> str:
    """The feature classifier's held-out accuracy and held-out count, from its training log."""
    try:
        log = json.loads((CLASSIFIER_DIR / CLASSIFIER_LOG).read_text())
        accuracy, heldout = f"{log['heldout_accuracy']:.3f}", f"{int(log['config']['holdout']):,}"
    except (OSError, KeyError, TypeError, ValueError):
        accuracy = heldout = "?"
    return pick(TEXT, "accuracy", lang).format(accuracy=accuracy, heldout=heldout)


def figure_labels(lang: str) -> dict[str, str]:
    """The texts of ``curves_figure`` in ``lang``."""
    keys = {"fd": "fig_fd", "confidence": "fig_conf", "balance": "fig_bal", "steps": "fig_steps", "floor": "fig_floor"}
    return {name: pick(TEXT, key, lang) for name, key in keys.items()}


def points_table(points: list[dict], lang: str) -> str:
    """A markdown table of curve points (dicts as in the curves file), one row per point."""
    keys = ("col_sampler", "col_steps", "col_n", "col_fd", "col_floor", "col_conf", "col_bal", "col_sec")
    head = [pick(TEXT, key, lang) for key in keys]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in points:
        lines.append(
            f"| {SAMPLER_NAMES[p['sampler']]} | {p['steps']} | {p['n']} | {p['fd']:.1f} | {p['fd_floor']:.1f} | "
            f"{p['confidence']:.3f} | {p['class_balance']:.3f} | {p['seconds']:.1f} |"
        )
    return "\n".join(lines)


def precomputed_view(lang: Any) -> tuple[go.Figure | None, str, str]:
    """The precomputed curves (figure, summary markdown, table markdown), or (None, how to make them, "")."""
    lang = normalize_language(lang)
    try:
        data = quality_curves.load_curves()
    except ValueError:
        return None, pick(TEXT, "missing_curves", lang), ""
    figure = curves_figure(data["points"], data["floor"]["fd"], data["real"], figure_labels(lang), SAMPLER_NAMES)
    summary = pick(TEXT, "precomputed", lang).format(
        n=data["n"],
        seed=data["seed"],
        created=data["created"][:10],
        machine=data["machine"],
        floor=data["floor"]["fd"],
        real_conf=data["real"]["confidence"],
        real_bal=data["real"]["class_balance"],
        partial=pick(TEXT, "partial", lang) if any(note.startswith("partial") for note in data["notes"]) else "",
    )
    return figure, summary, points_table(data["points"], lang)


def first_code() -> str:
    """The code shown before any run: the live recompute with its default settings."""
    return QUALITY_CODE.format(**LIVE_DEFAULTS)


def quality_gpu_seconds(samplers: Any = None, steps: Any = None, n: Any = 0, *_: Any, **__: Any) -> int:
    """ZeroGPU quota of one ``quality`` call: every point samples n images, up to 50 steps each."""
    return gpu_seconds(n, 0.25, base=20, cap=120)


@gpu_task(quality_gpu_seconds)
def quality(samplers: Any, steps: Any, n: Any, seed: Any, lang: Any, progress=gr.Progress(),  # noqa: B008
            request: gr.Request | None = None):  # fmt: skip
    """Handler of the ``quality`` API: recompute a small quality-vs-steps curve, one point at a time.

    Like every long run it is estimated first and refused above the server's cap, holds the
    session's one sampling slot, and stops (keeping its points) at the cap (``ui.runs``).

    Args:
        samplers: some of ``diffusion_core.sampling.SAMPLERS``; steps: some of ``LIVE_STEPS``;
        n: samples per point, 8..``LIVE_MAX_N``; seed: 0..2**31-1; lang: ``"zh"`` or ``"en"``.

    Yields:
        (figure, summary markdown, table markdown, code, live state): the estimate first, then after every
        point (labelled partial until the last). The live state (outside the API) keeps the points so that a
        language switch re-words this result (``quality_view``) instead of replacing it.
    """
    lang = normalize_language(lang)
    samplers = as_choices(samplers, "samplers", SAMPLERS)
    steps = sorted({as_int(s, "steps", 1, max(LIVE_STEPS)) for s in as_choices(steps, "steps", LIVE_STEPS)})
    n = as_int(n, "n", 8, LIVE_MAX_N)
    seed = as_seed(seed)
    if not samplers:
        raise ValueError(pick(TEXT, "need_sampler", lang))
    if not steps:
        raise ValueError(pick(TEXT, "need_steps", lang))
    samplers = [s for s in SAMPLERS if s in samplers]
    pipe = bundled_ddpm(str(DEVICE))
    code = QUALITY_CODE.format(samplers=samplers, steps=steps, n=n, seed=seed)
    skip = gr.skip()
    with runs.heavy_run(request, "sample", lang, SECTION) as run:
        yield skip, run.started_line(run.lang), skip, code, skip
        plan = [count for _ in samplers for count in steps]
        runtime = cpu_speed.sampling_forward(pipe.unet.device)["runtime"]  # as comparison_lab.generate samples
        run.admit(estimates.quality_estimate(pipe.unet, plan, n, score_seconds=SCORE_SECONDS,
                                             runtime=runtime))  # fmt: skip
        yield skip, run.started_line(run.lang), skip, code, skip
        floor = metrics.real_floor(n)
        real = metrics.measure(metrics.real_digits(n, seed=1)[0])
        real_ref = {"confidence": real.confidence, "class_balance": real.class_balance}
        points: list[dict] = []
        total = len(plan)
        progress(0, desc=f"0 / {total}")
        seconds = 0.0
        for point in quality_curves.quality_vs_steps(
            comparison_lab.sampling_function(pipe.unet, pipe.scheduler), samplers, steps, n, seed
        ):
            points.append(point.__dict__)
            seconds += point.seconds
            progress(len(points) / total, desc=f"{len(points)} / {total}: {SAMPLER_NAMES[point.sampler]} {point.steps}")
            reason = run.stop_reason() if len(points) < total else None
            live = {"points": points, "floor": floor, "real": real_ref, "n": n, "seed": seed, "seconds": seconds,
                    "total": total, "ended": {language: run.ended_line(reason, len(points), total, language, unit="point")
                                              for language in LANGUAGES} if reason else {}}  # fmt: skip
            run.shown = live  # what a switch during the run re-words (quality_view)
            lang = run.lang  # the page's language now: a switch during the run reaches it (runs.follow_language)
            summary = live_summary(live, lang)
            if len(points) < total and not reason:
                summary += " · " + run.progress_line()
            yield (
                curves_figure(points, floor, real_ref, figure_labels(lang), SAMPLER_NAMES),
                summary,
                points_table(points, lang),
                code,
                live,
            )
            if reason is not None:
                return


def live_summary(live: dict, lang: str) -> str:
    """The summary of a live recompute (``live`` as ``quality`` keeps it), partial until its last point."""
    done = len(live["points"])
    if done == live["total"]:
        return pick(TEXT, "live_done", lang).format(n=live["n"], seed=live["seed"], seconds=live["seconds"])
    summary = pick(TEXT, "live_partial", lang).format(done=done, total=live["total"], n=live["n"], seed=live["seed"],
                                                      seconds=live["seconds"])  # fmt: skip
    return summary + (" · " + live["ended"][lang] if live["ended"] else "")


@uses_no_deferred_module  # a language switch re-words it at once, during the first import
def quality_view(live: Any, lang: Any, request: gr.Request = None) -> tuple[Any, str, Any]:
    """What the curves show after a language switch: this session's live result re-worded, else the precomputed.
    During a recompute: its points so far with its progress, or before its first point, its first line (the
    figure and table keep the last result, as they do until that point)."""
    lang = normalize_language(lang)
    run = runs.running_in(request, "sample", SECTION)
    if run is not None and run.shown is None:
        return gr.skip(), run.started_line(lang), gr.skip()
    live = run.shown if run is not None else live
    if not isinstance(live, dict) or not live.get("points"):
        return precomputed_view(lang)
    figure = curves_figure(live["points"], live["floor"], live["real"], figure_labels(lang), SAMPLER_NAMES)
    summary = live_summary(live, lang)
    if run is not None and len(live["points"]) < live["total"] and not live["ended"]:
        summary += " · " + run.progress_line(lang)
    return figure, summary, points_table(live["points"], lang)
