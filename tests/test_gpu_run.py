"""The prepared GPU session script, run end to end on the CPU with a tiny budget (so it cannot break on a GPU)."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

from diffusion_core import cpu_speed
from diffusion_core.device import pick_device
from diffusion_core.quality_curves import validate_curves
from diffusion_core.train_state import read_state

ROOT = Path(__file__).resolve().parent.parent


def _gpu_run(tmp_path: Path, **env: str) -> str:
    out, work = tmp_path / "out", tmp_path / "work"
    env = {**os.environ, "GPU_RUN_TINY": "1", "OUT": str(out), "WORK": str(work), "PYTHONPATH": str(ROOT), **env}
    result = subprocess.run(
        ["bash", "scripts/gpu_run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    log = (out / "run.log").read_text()
    assert result.returncode == 0, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    return log


def test_gpu_run_script_end_to_end_tiny(tmp_path):
    """Two calls of a GPU session, tiny: a fresh run then benchmarks, then the run resumed further and evaluated."""
    first = _gpu_run(tmp_path, STAGES="bench train")
    assert "bench gpu_sampling exit 0" in first and "bench training exit 0" in first
    assert "train exit 0" in first and "eval" not in first and "done" in first
    assert first.index("train exit 0") < first.index("bench gpu_sampling")  # the model first, the bench in what is left
    second = _gpu_run(tmp_path, STAGES="train eval", RESUME=str(tmp_path / "work" / "ddpm_mnist-state"),
                      TARGET_STEPS="8")  # fmt: skip
    assert "resuming" in second and "a new 1-step warm-up to 0.0005 from step 6, then cosine to step 8" in second
    call_2 = second[second.index("stages: train eval") :]  # run.log gathers both calls
    assert "train exit 0" in call_2 and "eval curves exit 0" in call_2
    assert "eval --bar exit 1" in call_2  # it ran; a tiny model fails the bar, and says so in its exit code
    curves_log = call_2[call_2.index("eval curves") :]  # the curves' DDPM point is the bar's: read back, not sampled
    assert "ddpm 5 steps: chunk 1/1, 8/8 images" in curves_log and "(read back from --cache)" in curves_log

    out = tmp_path / "out"
    parts = sorted(out.glob("bundle.part*"))
    assert parts and all(p.stat().st_size <= 15 * 2**20 for p in parts)
    bundle = tmp_path / "bundle.tar"
    bundle.write_bytes(b"".join(p.read_bytes() for p in parts))
    unpacked = tmp_path / "unpacked"
    with tarfile.open(bundle) as archive:
        archive.extractall(unpacked, filter="data")
    training_log = json.loads((unpacked / "ddpm_mnist" / "training_log.json").read_text())
    assert training_log["config"]["lr_schedule"] == "cosine" and training_log["ema"] is True
    assert training_log["steps"] == 8 and len(training_log["commands"]) == 2
    assert "--report-every 1 " in training_log["commands"][1]  # a resume sets how often the fast path syncs
    assert training_log["config"]["lr_restart_at"] == 6 and (unpacked / "ddpm_mnist" / "samples.png").is_file()
    assert (unpacked / "ddpm_mnist" / "early" / "step_000002" / "model_index.json").is_file()
    assert read_state(unpacked / "ddpm_mnist-state")["step"] == 8
    bar = json.loads((unpacked / "quality_bar.json").read_text())
    assert bar["n"] == 8 and bar["cpu_default"]["sampler"] == "dpm++" and bar["cpu_default"]["steps"] == 20
    picked = cpu_speed.sampling_forward(pick_device("auto"))  # the samples come from the forward the app picks
    assert bar["cpu_default"]["forward"] == f"{picked['runtime']}, {picked['precision']}"
    assert (unpacked / "grid64_ddpm5.png").is_file() and (unpacked / "grid64_dpmpp20.png").is_file()
    validate_curves(json.loads((unpacked / "quality_curves.json").read_text()))
    benchmarks = (unpacked / "BENCHMARKS.md").read_text()
    assert "<!-- suite:training -->" in benchmarks and "One profiled step" in benchmarks
    assert "<!-- suite:gpu_sampling -->" in benchmarks
    assert not (unpacked / "probe").exists() and not (unpacked / "eval_cache").exists()
    assert list((tmp_path / "work" / "eval_cache").glob("*/chunk_*.safetensors"))  # kept beside, for a resume


def test_gpu_run_skips_the_evaluation_of_an_unfinished_run(tmp_path):
    log = _gpu_run(tmp_path, STAGES="eval")
    assert "eval skipped: the run is not finished" in log and "eval --bar" not in log


def test_the_bundled_run_state_resumes_on_this_machine():
    """``assets/checkpoints/ddpm_mnist-state``: the run behind the bundled weights, which the next GPU lease
    continues to step 20,000 (``gpu_run.sh``'s default RESUME). It must load into the current code."""
    from diffusion_core.data import load_mnist
    from diffusion_core.training import TrainConfig, TrainingRun, build_model, make_ema

    folder = ROOT / "assets" / "checkpoints" / "ddpm_mnist-state"
    state = read_state(folder)
    config = state["config"]
    assert (config["model"], config["batch_size"], config["ema"], config["seed"]) == ("ddpm", 256, True, 0)
    assert (config["steps"], config["lr_restart_at"], config["lr"]) == (20_000, 10_000, 5e-4)
    assert 10_000 < state["step"] <= config["steps"] and len(state["losses"]) == state["step"]
    commands = json.loads((folder / "commands.json").read_text())
    assert "--steps 10000" in commands[0] and "--lr-restart" in commands[1]
    run_config = TrainConfig(**{**config, "device": "cpu", "cuda_graph": False})
    model = build_model("ddpm", seed=0)
    run = TrainingRun(model, load_mnist()[0], run_config, ema=make_ema(model, run_config))
    run.load_state(folder)
    assert run.progress.step == state["step"] and run.ema.optimization_step == state["step"]
