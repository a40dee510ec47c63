"""The training fast path, its learning-rate schedule and resumable runs (CPU), and its CUDA graph (GPU)."""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from diffusers import DDPMPipeline

from diffusion_core.data import load_mnist
from diffusion_core.train_state import read_state
from diffusion_core.training import (
    FIRST_STEP_RTOL_BF16,
    TrainConfig,
    TrainingRun,
    build_model,
    make_ema,
)

ROOT = Path(__file__).resolve().parent.parent
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    return load_mnist()[0][:96]


def _training(kind: str, images: torch.Tensor, config: TrainConfig) -> TrainingRun:
    model = build_model(kind, seed=config.seed)
    ema = make_ema(model, config) if config.ema else None
    return TrainingRun(model, images, config, ema=ema)


def _losses(run: TrainingRun) -> list[float]:
    return [loss for record in run.steps() for loss in record.step_losses]


def test_learning_rate_warms_up_then_follows_a_cosine_to_zero():
    config = TrainConfig(model="ddpm", steps=110, epochs=None, lr=1e-3, lr_schedule="cosine", warmup_steps=10)
    rates = [config.lr_at(step, 110) for step in range(110)]
    assert rates[0] == pytest.approx(1e-4) and rates[9] == pytest.approx(1e-3)  # linear warm-up
    assert rates[10] == pytest.approx(1e-3)  # the peak, then down
    assert rates[60] == pytest.approx(0.5e-3)  # half way through the cosine: half the peak
    assert rates[-1] == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * 99 / 100)))
    assert all(a >= b for a, b in itertools.pairwise(rates[10:]))
    constant = TrainConfig(model="basic", lr=2e-3)
    assert {constant.lr_at(step, 50) for step in range(50)} == {2e-3}
    with pytest.raises(ValueError, match="cosine schedule needs a length"):
        TrainConfig(model="basic", steps=None, epochs=None, seconds=5, lr_schedule="cosine").validate()


def test_a_restarted_schedule_counts_from_its_restart_step():
    """A resumed run's second phase: a fresh warm-up from lr_restart_at, then a cosine to the new last step."""
    config = TrainConfig(
        model="ddpm", steps=210, epochs=None, lr=5e-4, lr_schedule="cosine", warmup_steps=10, lr_restart_at=100
    )
    rates = [config.lr_at(step, 210) for step in range(100, 210)]
    assert rates[0] == pytest.approx(5e-5) and rates[9] == pytest.approx(5e-4)  # 10 warm-up steps from step 100
    assert rates[10 + 50] == pytest.approx(2.5e-4)  # half way through the 100 cosine steps
    assert all(a >= b for a, b in itertools.pairwise(rates[10:])) and rates[-1] < 1e-6
    with pytest.raises(ValueError, match="must come before the last step"):
        TrainConfig(model="ddpm", steps=100, epochs=None, lr_restart_at=100).validate()


def test_a_state_takes_a_new_schedule_only_when_it_restarts_at_the_saved_step(digits, tmp_path):
    base = dict(model="basic", epochs=None, batch_size=16, fast=True, lr_schedule="cosine", warmup_steps=1)
    first = _training("basic", digits, TrainConfig(steps=3, **base))
    list(first.steps())
    first.save_state(tmp_path / "state")
    restarted = TrainConfig(**{**base, "warmup_steps": 2}, steps=6, lr=3e-4, lr_restart_at=3, report_every=1)
    second = _training("basic", digits, restarted)
    assert second.load_state(tmp_path / "state") == []
    records = list(second.steps())
    assert [r.step for r in records] == [4, 5, 6]
    assert [r.lr for r in records][:2] == pytest.approx([1.5e-4, 3e-4])  # the new warm-up, then the new peak
    elsewhere = TrainConfig(**{**base, "warmup_steps": 2}, steps=6, lr=3e-4, lr_restart_at=2)
    with pytest.raises(ValueError, match="differs in lr, lr_restart_at, warmup_steps"):
        _training("basic", digits, elsewhere).load_state(tmp_path / "state")


def test_a_state_from_another_kind_of_device_continues_with_a_note(digits, tmp_path):
    """A CUDA generator's state (16 bytes: seed and offset) cannot seed a CPU generator: reseeded, and said."""
    from safetensors.torch import load_file, save_file

    config = TrainConfig(model="ddpm", steps=4, epochs=None, batch_size=8, fast=True, ema=True, report_every=1)
    first = _training("ddpm", digits, config)
    for record in first.steps():
        if record.step == 2:
            break
    folder = first.save_state(tmp_path / "state")
    randomness = load_file(str(folder / "random.safetensors"))
    save_file({**randomness, "noise": torch.zeros(16, dtype=torch.uint8)}, str(folder / "random.safetensors"))
    state = json.loads((folder / "state.json").read_text())
    state["config"]["device"] = "cuda"
    (folder / "state.json").write_text(json.dumps(state))

    second = _training("ddpm", digits, config)
    notes = second.load_state(folder)
    assert len(notes) == 1 and "another kind of device ('cuda')" in notes[0] and "seed 3 (seed + 1 + step)" in notes[0]
    assert second.progress.step == 2
    for a, b in zip(first.model.parameters(), second.model.parameters(), strict=True):
        torch.testing.assert_close(a, b)
    reseeded = torch.Generator().manual_seed(3)
    assert torch.equal(
        torch.randn(4, generator=second.noise_generator), torch.randn(4, generator=reseeded)
    )  # the documented seed, so the continuation is reproducible
    assert [r.step for r in second.steps()] == [3, 4]


def test_the_run_reports_the_scheduled_rate(digits):
    config = TrainConfig(
        model="basic", steps=4, epochs=None, batch_size=16, lr=1e-3, warmup_steps=4, fast=True, report_every=1
    )
    records = list(_training("basic", digits, config).steps())
    assert [r.lr for r in records] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])


def test_fast_path_uses_a_fused_optimizer_and_a_foreach_ema(digits):
    config = TrainConfig(model="ddpm", steps=1, epochs=None, batch_size=8, fast=True, ema=True)
    run = _training("ddpm", digits, config)
    assert run.optimizer.defaults.get("fused") or run.optimizer.defaults.get("foreach")
    assert run.ema.foreach
    plain = _training("ddpm", digits, TrainConfig(model="ddpm", steps=1, epochs=None, batch_size=8, ema=True))
    assert not plain.optimizer.defaults.get("fused") and not plain.ema.foreach


def test_fast_path_batches_all_have_one_shape(digits):
    """96 images in batches of 40: the plain path ends each epoch with 16, the fast path drops them."""
    plain = list(_training("basic", digits, TrainConfig(model="basic", steps=6, epochs=None, batch_size=40)).steps())
    fast_config = TrainConfig(model="basic", steps=6, epochs=None, batch_size=40, fast=True, report_every=1)
    fast = list(_training("basic", digits, fast_config).steps())
    assert [b.images_seen - a.images_seen for a, b in itertools.pairwise(plain)] == [40, 16, 40, 40, 16]
    assert [b.images_seen - a.images_seen for a, b in itertools.pairwise(fast)] == [40] * 5
    assert [r.epoch for r in fast] == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(model="basic", steps=7, epochs=None, batch_size=16, report_every=1),
        TrainConfig(model="basic", steps=7, epochs=None, batch_size=16, fast=True, report_every=1),
        TrainConfig(
            model="ddpm",
            steps=5,
            epochs=None,
            batch_size=24,
            fast=True,
            ema=True,
            report_every=1,
            lr_schedule="cosine",
            warmup_steps=2,
            grad_clip=1.0,
        ),
    ],
    ids=["basic-plain", "basic-fast", "ddpm-fast-ema-cosine"],
)
def test_a_resumed_run_continues_exactly(config, digits, tmp_path):
    """Stop after 3 steps (mid-epoch), save, resume in a new run: the same losses and weights as one run."""
    straight = _training(config.model, digits, config)
    straight_losses = _losses(straight)

    first = _training(config.model, digits, config)
    losses = []
    for record in first.steps():
        losses.extend(record.step_losses)
        if record.step == 3:
            break
    first.save_state(tmp_path / "state")
    second = _training(config.model, digits, config)
    second.load_state(tmp_path / "state")
    assert second.progress.step == 3 and second.progress.losses == losses
    records = list(second.steps())
    losses.extend(loss for record in records for loss in record.step_losses)
    last = records[-1]  # its speed counts only this call's images, not the 3 steps before the save
    assert last.images_this_loop == (config.steps - 3) * config.batch_size < last.images_seen
    assert last.images_per_second == pytest.approx(last.images_this_loop / last.seconds)

    assert losses == pytest.approx(straight_losses, rel=1e-6, abs=1e-7)
    for a, b in zip(straight.model.parameters(), second.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    if config.ema:
        for a, b in zip(straight.ema.shadow_params, second.ema.shadow_params, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        assert second.ema.optimization_step == straight.ema.optimization_step == config.steps
    assert second.progress.images_seen == straight.progress.images_seen


def test_a_state_refuses_another_config(digits, tmp_path):
    config = TrainConfig(model="basic", steps=2, epochs=None, batch_size=16, fast=True)
    run = _training("basic", digits, config)
    list(run.steps())
    run.save_state(tmp_path / "state")
    other = _training("basic", digits, TrainConfig(model="basic", steps=2, epochs=None, batch_size=8, fast=True))
    with pytest.raises(ValueError, match="differs in batch_size"):
        other.load_state(tmp_path / "state")
    with pytest.raises(ValueError, match="no training state"):
        other.load_state(tmp_path / "missing")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "state.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        other.load_state(tmp_path / "broken")
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == [
        "model.safetensors", "optimizer.safetensors", "random.safetensors", "state.json",
    ]  # fmt: skip


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "diffusion_core", "train", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_cli_saves_state_and_resumes(tmp_path):
    out, state = tmp_path / "ddpm", tmp_path / "ddpm-state"
    first = _cli("--model", "ddpm", "--steps", "3", "--batch-size", "4", "--fast", "--ema",
                 "--warmup-steps", "2", "--state-every", "2", "--save-at", "2",
                 "--samples", "0", "--ddim-samples", "0", "--output", str(out))  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    assert read_state(state)["step"] == 3
    assert (out / "early" / "step_000002" / "model_index.json").is_file()
    resumed = _cli("--resume", str(state), "--steps", "6", "--samples", "2", "--ddpm-sample-steps", "2",
                   "--ddim-samples", "0", "--output", str(out))  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming" in resumed.stdout and "at step 3" in resumed.stdout
    log = json.loads((out / "training_log.json").read_text())
    assert log["steps"] == 6 and log["images_seen"] == 24 and len(log["commands"]) == 2
    assert log["config"]["lr_schedule"] == "constant" and log["config"]["steps"] == 6  # a constant rate stretches
    assert len(log["loss_curve"]) == 6
    assert read_state(state)["step"] == 6
    pipeline = DDPMPipeline.from_pretrained(str(out), use_safetensors=True, local_files_only=True)
    assert sum(p.numel() for p in pipeline.unet.parameters()) == 1_707_009
    done = _cli("--resume", str(state), "--output", str(out))
    assert done.returncode != 0 and "already done" in done.stderr
    restarted = _cli("--resume", str(state), "--steps", "8", "--lr-restart", "--lr", "2e-4", "--warmup-steps", "1",
                     "--lr-schedule", "cosine", "--samples", "0", "--ddim-samples", "0", "--output", str(out))  # fmt: skip
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    assert "a new 1-step warm-up to 0.0002 from step 6, then cosine to step 8" in restarted.stdout
    config = read_state(state)["config"]
    assert read_state(state)["step"] == 8 and (config["lr_restart_at"], config["lr"]) == (6, 2e-4)
    stretched = _cli("--resume", str(state), "--steps", "10", "--output", str(out))
    assert stretched.returncode != 0 and "add --lr-restart" in stretched.stderr  # a cosine's length is the run's
    wrong = _cli("--resume", str(tmp_path), "--output", str(out))
    assert wrong.returncode != 0 and "no training state" in wrong.stderr


def test_cuda_graph_is_refused_off_cuda(digits):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    config = TrainConfig(model="basic", steps=2, epochs=None, batch_size=8, fast=True, cuda_graph=True, device="cpu")
    with pytest.raises(ValueError, match="cuda_graph needs a CUDA GPU"):
        _training("basic", digits, config)
    with pytest.raises(ValueError, match="part of the fast path"):
        TrainConfig(model="basic", cuda_graph=True).validate()


@needs_cuda
@pytest.mark.gpu
@pytest.mark.parametrize(
    ("kind", "compiled"),
    [("basic", False), ("ddpm", False), ("basic", True)],
    ids=["basic-graph", "ddpm-graph", "basic-graph+compile"],
)
def test_cuda_graph_matches_the_eager_fast_path(kind, compiled, digits):
    """Same draws, same batches: the replayed graph's losses follow the eager fast path's (both bf16).

    With ``compile=True`` the graph replays inductor's fused kernels of the compiled model.
    """
    base = dict(model=kind, steps=8, epochs=None, batch_size=32, fast=True, report_every=8, grad_clip=1.0)
    eager = _losses(_training(kind, digits, TrainConfig(**base)))
    graphed = _losses(_training(kind, digits, TrainConfig(**base, cuda_graph=True, compile=compiled)))
    assert len(eager) == len(graphed) == 8
    assert graphed[0] == pytest.approx(eager[0], rel=FIRST_STEP_RTOL_BF16)
    assert graphed[-1] == pytest.approx(eager[-1], rel=5 * FIRST_STEP_RTOL_BF16)


@needs_cuda
@pytest.mark.gpu
@pytest.mark.parametrize("cuda_graph", [False, True])
def test_fast_path_host_syncs_do_not_grow_with_steps(cuda_graph, digits):
    """Between two reports nothing waits for the GPU: 40 steps sync no more than 10 steps (one report each)."""

    def syncs(steps: int) -> int:
        config = TrainConfig(
            model="ddpm", steps=steps, epochs=None, batch_size=32, fast=True, ema=True, cuda_graph=cuda_graph,
            report_every=steps,
        )  # fmt: skip
        run = _training("ddpm", digits, config)
        torch.cuda.synchronize()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                list(run.steps())
            finally:
                torch.cuda.set_sync_debug_mode("default")
        return sum("synchroniz" in str(w.message) for w in caught)

    syncs(10)  # one-time initialisation (cuDNN's algorithm search, first fused-optimizer call) is not counted
    assert syncs(40) <= syncs(10)
