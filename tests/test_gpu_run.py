"""The prepared GPU session script, run end to end on the CPU with a tiny budget (so it cannot break on a GPU)."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

from diffusion_core.quality_curves import validate_curves
from diffusion_core.train_state import read_state

ROOT = Path(__file__).resolve().parent.parent


def test_gpu_run_script_end_to_end_tiny(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    env = {**os.environ, "GPU_RUN_TINY": "1", "OUT": str(out), "WORK": str(work), "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        ["bash", "scripts/gpu_run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    log = (out / "run.log").read_text()
    assert result.returncode == 0, log[-3000:]
    assert "Traceback" not in log, log[-3000:]
    assert "train exit 0" in log and "eval curves exit 0" in log and "bench training exit 0" in log and "done" in log
    assert "bench sampling exit 0" in log
    parts = sorted(out.glob("bundle.part*"))
    assert parts and all(p.stat().st_size <= 15 * 2**20 for p in parts)
    bundle = tmp_path / "bundle.tar"
    bundle.write_bytes(b"".join(p.read_bytes() for p in parts))
    unpacked = tmp_path / "unpacked"
    with tarfile.open(bundle) as archive:
        archive.extractall(unpacked, filter="data")
    training_log = json.loads((unpacked / "ddpm_mnist" / "training_log.json").read_text())
    assert training_log["config"]["lr_schedule"] == "cosine" and training_log["ema"] is True
    assert training_log["steps"] >= 4 and (unpacked / "ddpm_mnist" / "samples.png").is_file()
    assert (unpacked / "ddpm_mnist" / "early" / "step_000002" / "model_index.json").is_file()
    assert read_state(unpacked / "ddpm_mnist-state")["step"] == training_log["steps"]
    bar = json.loads((unpacked / "quality_bar.json").read_text())
    assert bar["n"] == 8 and bar["cpu_default"]["sampler"] == "dpm++" and bar["cpu_default"]["steps"] == 20
    assert (unpacked / "grid64_ddpm5.png").is_file() and (unpacked / "grid64_dpmpp20.png").is_file()
    validate_curves(json.loads((unpacked / "quality_curves.json").read_text()))
    benchmarks = (unpacked / "BENCHMARKS.md").read_text()
    assert "<!-- suite:training -->" in benchmarks and "One profiled step" in benchmarks
    assert not (unpacked / "probe").exists()
