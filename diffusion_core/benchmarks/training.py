"""Training throughput: the seed's loop vs ``diffusion_core.training``'s fast path, same run.

The seed's loop is written out here as the tutorial has it: a shuffling ``DataLoader`` over the
images, each batch copied to the device, fp32, ``loss.item()`` after every step. The fast path is
``train_x0`` / ``train_eps`` with ``fast=True`` (data resident on the device, channels_last, bf16
autocast on CUDA, one host sync per report), with and without ``torch.compile``.

Targets (issue 4): CPU BasicUNet fast >= 1.5x; GPU >= 8x (BasicUNet) and >= 4x (UNet2DModel).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from diffusion_core.benchmarks import BenchTable
from diffusion_core.corruption import corrupt
from diffusion_core.data import load_mnist, to_model_range
from diffusion_core.device import pick_device
from diffusion_core.training import TrainConfig, build_model, make_training_scheduler, train_eps, train_x0

BATCH = 128  # the seed's batch size


def seed_loop(kind: str, images: torch.Tensor, steps: int, device: torch.device) -> float:
    """Run the seed's loop for ``steps`` steps and return the seconds it took (after 2 warm-up steps)."""
    model = build_model(kind, seed=0).to(device).train()
    optimizer = (torch.optim.AdamW if kind == "ddpm" else torch.optim.Adam)(
        model.parameters(), lr=4e-4 if kind == "ddpm" else 1e-3
    )
    scheduler = make_training_scheduler() if kind == "ddpm" else None
    loader = DataLoader(TensorDataset(images), batch_size=BATCH, shuffle=True, drop_last=True)
    losses = []
    done, start = 0, 0.0
    while done < steps + 2:
        for (x,) in loader:
            if done == 2:
                _sync(device)
                start = time.perf_counter()
            x = x.to(device)
            if kind == "ddpm":
                x = to_model_range(x)
                noise = torch.randn(x.shape).to(device)
                t = torch.randint(0, 1000, (x.shape[0],), device=device).long()
                noise_pred = model(scheduler.add_noise(x, noise, t), t, return_dict=False)[0]
                loss = F.mse_loss(noise_pred, noise)
            else:
                noise_amount = torch.rand(x.shape[0]).to(device)
                loss = F.mse_loss(model(corrupt(x, noise_amount)), x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())  # the seed's per-step host sync
            done += 1
            if done == steps + 2:
                break
    _sync(device)
    return time.perf_counter() - start


def fast_loop(kind: str, images: torch.Tensor, steps: int, device: torch.device, compile_model: bool) -> float:
    """Run the fast path for ``steps`` steps (one report at the end) and return the seconds (after warm-up)."""
    warmup = 3 if compile_model else 2
    config = TrainConfig(
        model=kind,
        steps=steps + warmup,
        epochs=None,
        batch_size=BATCH,
        device=device.type,
        fast=True,
        compile=compile_model,
        report_every=warmup,  # one report (sync) after the warm-up, one at the end
    )
    model = build_model(kind, seed=0)
    loop = train_x0(model, images, config) if kind == "basic" else train_eps(model, images, config)
    next(loop)  # the warm-up steps (and compilation)
    _sync(device)
    start = time.perf_counter()
    for _ in loop:
        pass
    _sync(device)
    return time.perf_counter() - start


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _try(fn: Callable[[], float]) -> float | str:
    try:
        return fn()
    except Exception as error:  # torch.compile needs a working compiler toolchain
        return f"failed: {type(error).__name__}"


def run(quick: bool = False) -> list[BenchTable]:
    device = pick_device()
    images = load_mnist()[0]
    on_gpu = device.type == "cuda"
    plans = {"basic": 60 if on_gpu else (8 if quick else 30), "ddpm": 30 if on_gpu else (2 if quick else 4)}
    table = BenchTable(
        title="Training throughput: seed loop vs fast path (batch 128)",
        columns=["model", "loop", "steps", "img/s", "ratio vs seed loop"],
    )
    for kind, steps in plans.items():
        name = "BasicUNet (x0)" if kind == "basic" else "UNet2DModel (noise)"
        seed_seconds = seed_loop(kind, images, steps, device)
        seed_rate = steps * BATCH / seed_seconds
        table.rows.append([name, "seed: DataLoader, fp32, loss.item() each step", steps, f"{seed_rate:.0f}", "1.00x"])
        # torch.compile costs a minute of compiling a model: measured on CUDA, and not in a --quick run
        variants = (("fast", False), ("fast + torch.compile", True)) if on_gpu and not quick else (("fast", False),)
        for label, compile_model in variants:
            seconds = _try(lambda: fast_loop(kind, images, steps, device, compile_model))  # noqa: B023
            if isinstance(seconds, str):
                table.rows.append([name, label, steps, seconds, "-"])
                continue
            rate = steps * BATCH / seconds
            table.rows.append([name, label, steps, f"{rate:.0f}", f"{rate / seed_rate:.2f}x"])
    table.notes.append(
        "fast = data resident on the device, channels_last, one host sync per report"
        + (", bf16 autocast" if on_gpu else " (bf16 autocast is CUDA-only)")
    )
    table.notes.append("targets: CPU BasicUNet fast >= 1.5x; GPU >= 8x BasicUNet, >= 4x UNet2DModel")
    if not on_gpu:
        table.notes.append("torch.compile is measured on CUDA only: on 2 CPU cores its compile time exceeds the run")
        table.notes.append("2 shared CPU cores: absolute img/s vary with the load; the ratios come from the same run")
    return [table]
