"""Tests for diffusion_core.training, user_data and train_cli: tiny configs, fixed seeds, no mocks."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import DDPMPipeline
from PIL import Image
from tiny import TINY_CONFIG_BASIC, TINY_CONFIG_DDPM

from diffusion_core import cpu_speed
from diffusion_core.checkpoints import load_basic_unet
from diffusion_core.data import load_mnist
from diffusion_core.training import (
    FIRST_STEP_RTOL_BF16,
    FIRST_STEP_RTOL_CPU,
    TrainConfig,
    TrainingRun,
    build_model,
    make_ema,
    train_eps,
    train_x0,
)
from diffusion_core.user_data import MIN_IMAGES, images_to_tensor, load_image_folder

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return load_mnist()[0][:512]


def _run(kind: str, images: torch.Tensor, config: TrainConfig, ema=None) -> list:
    model = build_model(kind, seed=config.seed)
    if kind == "basic":
        return list(train_x0(model, images, config))
    return list(train_eps(model, images, config, ema=ema))


def test_basic_short_run_lowers_the_loss(digits):
    config = TrainConfig(model="basic", steps=40, epochs=None, batch_size=32, seed=0)
    records = _run("basic", digits, config)
    assert [r.step for r in records] == list(range(1, 41))
    first, last = np.mean([r.loss for r in records[:5]]), np.mean([r.loss for r in records[-5:]])
    assert last < 0.7 * first, (first, last)
    assert records[-1].images_seen == 40 * 32
    assert records[-1].epoch == (40 * 32) // len(digits)  # 512 images: epoch 0 .. 2
    assert all(b.seconds >= a.seconds for a, b in itertools.pairwise(records))


def test_ddpm_short_run_lowers_the_loss(digits):
    config = TrainConfig(model="ddpm", steps=6, epochs=None, batch_size=16, seed=0)
    records = _run("ddpm", digits, config)
    assert len(records) == 6
    assert records[-1].loss < 0.8 * records[0].loss, [r.loss for r in records]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("kind", ["basic", "ddpm"])
def test_fast_and_plain_paths_agree(kind, precision, digits, monkeypatch):
    """Same seed, same batches, same noise: the first-step loss agrees within the stated tolerance, whichever
    precision the fast path computes in on this CPU (bf16 is forced here; emulated where it is not native)."""
    monkeypatch.setenv(cpu_speed.ENV_OVERRIDE, precision)
    tiny = TINY_CONFIG_BASIC if kind == "basic" else TINY_CONFIG_DDPM
    plain = _run(kind, digits, TrainConfig(**{**tiny.to_dict(), "steps": 2}))
    fast_config = TrainConfig(**{**tiny.to_dict(), "steps": 2, "fast": True, "report_every": 2})
    assert TrainingRun(build_model(kind, seed=0), digits, fast_config).bf16 == (precision == "bf16")
    fast = _run(kind, digits, fast_config)
    assert len(plain) == 2 and len(fast) == 1  # the fast path reports (and syncs) every 2 steps here
    rtol = FIRST_STEP_RTOL_BF16 if precision == "bf16" else FIRST_STEP_RTOL_CPU
    assert fast[0].step_losses[0] == pytest.approx(plain[0].loss, rel=rtol)
    assert fast[0].step_losses[1] == pytest.approx(plain[1].loss, rel=10 * rtol)
    assert fast[0].images_seen == plain[1].images_seen


def test_budgets_epochs_and_seconds(digits):
    config = TrainConfig(model="basic", steps=None, epochs=1, batch_size=128, report_every=2)
    assert config.total_steps(len(digits)) == 4
    records = _run("basic", digits, config)
    assert [r.step for r in records] == [2, 4] and records[-1].images_seen == len(digits)
    timed = _run("basic", digits, TrainConfig(model="basic", steps=10_000, epochs=None, seconds=0.01, batch_size=8))
    assert len(timed) < 50 and timed[-1].seconds >= 0.01


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"steps": 0}, "steps must"),
        ({"lr": float("nan")}, "learning rate"),
        ({"lr": -1.0}, "learning rate"),
        ({"batch_size": 100_000}, "batch size"),
        ({"batch_size": 2.5}, "batch size"),
        ({"model": "vae"}, "model must"),
        ({"ema": True}, "EMA"),
        ({"compile": True}, "fast"),
        ({"steps": None, "epochs": None}, "budget"),
    ],
)
def test_bad_configs_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{**TINY_CONFIG_BASIC.to_dict(), **changes}).validate()


def test_bad_data_is_refused(digits):
    model = build_model("basic")
    with pytest.raises(ValueError, match="larger than the 4 training images"):
        list(train_x0(model, digits[:4], TINY_CONFIG_BASIC))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        list(train_x0(model, digits[:32] * 2 - 1, TINY_CONFIG_BASIC))
    with pytest.raises(ValueError, match="train_eps"):
        list(train_x0(model, digits, TINY_CONFIG_DDPM))


def test_ema_tracks_the_weights(digits):
    config = TrainConfig(**{**TINY_CONFIG_DDPM.to_dict(), "steps": 3, "ema": True, "ema_decay": 0.99})
    model = build_model("ddpm", seed=0)
    start = [p.detach().clone() for p in model.parameters()]
    ema = make_ema(model, config)
    list(train_eps(model, digits, config, ema=ema))
    assert ema.optimization_step == 3
    moved = [(s - p.detach()).abs().max() for s, p in zip(start, model.parameters(), strict=True)]
    lagged = [(s - e).abs().max() for s, e in zip(start, ema.shadow_params, strict=True)]
    # warm-up decay 1 - (1 + step)^-3/4: the average moves, but less than the weights
    assert 0 < max(lagged) < max(moved)


def _pngs(folder: Path, count: int, rgb: bool = False) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for index in range(count):
        shape = (40, 30, 3) if rgb else (40, 30)
        path = folder / f"img_{index:02d}.png"
        Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def test_user_images_become_training_tensors(tmp_path):
    paths = _pngs(tmp_path / "set", MIN_IMAGES, rgb=True)
    gray = images_to_tensor(paths, "gray28")
    assert gray.shape == (MIN_IMAGES, 1, 28, 28) and gray.min() >= 0 and gray.max() <= 1
    assert load_image_folder(tmp_path / "set", "rgb32").shape == (MIN_IMAGES, 3, 32, 32)
    with pytest.raises(ValueError, match="at least 8"):
        images_to_tensor(paths[:1])
    garbage = tmp_path / "set" / "notes.png"
    garbage.write_bytes(b"this is not a picture")
    with pytest.raises(ValueError, match=r"notes\.png.*not an image"):
        load_image_folder(tmp_path / "set")
    with pytest.raises(ValueError, match="no image files"):
        load_image_folder(tmp_path)


def _cli(*args: str, launcher: list[str] | None = None, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = (launcher or [sys.executable]) + ["-m", "diffusion_core", "train", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def test_cli_basic_smoke(tmp_path):
    out = tmp_path / "basic"
    result = _cli("--model", "basic", "--steps", "4", "--batch-size", "8", "--samples", "8", "--save-every", "2",
                  "--output", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    log = json.loads((out / "training_log.json").read_text())
    assert log["steps"] == 4 and log["images_seen"] == 32 and log["seed"] == 0
    assert log["command"].startswith("python -m diffusion_core train --model basic")
    assert math.isfinite(log["final_loss"]) and log["device"].startswith("cpu")
    assert Image.open(out / "samples.png").size[0] > 0
    assert (out / "early" / "step_000002" / "model.safetensors").is_file()
    model = load_basic_unet(out)
    assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 1, 28, 28)


def test_cli_bad_arguments_fail_clearly(tmp_path):
    result = _cli("--model", "basic", "--steps", "0", "--output", str(tmp_path / "x"))
    assert result.returncode != 0 and "steps must" in result.stderr


def test_ddpm_checkpoint_round_trips_under_accelerate(tmp_path):
    """accelerate launch (one CPU process) runs the CLI; DDPMPipeline.from_pretrained loads what it saved."""
    out = tmp_path / "ddpm"
    launcher = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--cpu",
                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]  # fmt: skip
    result = _cli("--model", "ddpm", "--steps", "2", "--batch-size", "4", "--ema", "--samples", "2",
                  "--ddpm-sample-steps", "3", "--ddim-samples", "0", "--output", str(out), launcher=launcher)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    log = json.loads((out / "training_log.json").read_text())
    assert log["steps"] == 2 and log["ema"] is True and log["images_seen"] == 8
    pipeline = DDPMPipeline.from_pretrained(str(out), use_safetensors=True, local_files_only=True)
    assert pipeline.scheduler.config.beta_schedule == "squaredcos_cap_v2"
    assert pipeline.scheduler.config.num_train_timesteps == 1000
    assert sum(p.numel() for p in pipeline.unet.parameters()) == 1_707_009
    assert not any(p.suffix == ".bin" for p in out.rglob("*")), "weights must be safetensors only"
