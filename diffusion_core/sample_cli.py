"""``python -m diffusion_core sample``: sample a checkpoint and write a grid PNG.

Examples::

    python -m diffusion_core sample --model ddpm --scheduler dpm++ --steps 20 --batch 16 --output grid.png
    python -m diffusion_core sample --model basic --steps 5 --batch 8 --output mix.png
    python -m diffusion_core sample --model ddpm --scheduler ddpm --steps 1000 --fast   # CUDA graph, on a GPU

Each step is printed as it comes (step, t, and the spread of x_t and predicted x0).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from diffusion_core import sampling
from diffusion_core.checkpoints import load_basic_unet, load_ddpm_pipeline
from diffusion_core.device import pick_device
from diffusion_core.figures import to_image


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=["basic", "ddpm"], default="ddpm", help="BasicUNet (mix sampler) or DDPM")
    parser.add_argument("--checkpoint", type=Path, default=None, help="checkpoint folder (default: the bundled one)")
    parser.add_argument("--scheduler", choices=sampling.SAMPLERS, default="dpm++", help="sampler for --model ddpm")
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (default: 5 basic, 20 ddpm)")
    parser.add_argument("--batch", type=int, default=16, help="images to generate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the starting noise")
    parser.add_argument("--device", default="auto", help="cuda, mps, cpu or auto")
    parser.add_argument("--fast", action="store_true", help="CUDA-graph fast path (CUDA, ddpm/ddim)")
    parser.add_argument("--output", type=Path, default=Path("samples.png"), help="grid PNG to write")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")


def run(args: argparse.Namespace) -> int:
    try:
        device = pick_device(args.device)
        generator = torch.Generator().manual_seed(args.seed)
        start = time.perf_counter()
        if args.model == "basic":
            net = load_basic_unet(args.checkpoint, device=device)
            n_steps = 5 if args.steps is None else args.steps
            steps = sampling.mix_sample(net, n_steps, args.batch, generator=generator)
            to_unit = lambda x: x.clamp(0, 1)  # noqa: E731  BasicUNet works in [0, 1]
        else:
            pipeline = load_ddpm_pipeline(args.checkpoint, device=device)
            steps = sampling.scheduler_sample(
                pipeline.unet, pipeline.scheduler, args.scheduler, 20 if args.steps is None else args.steps, args.batch,
                generator=generator, fast=args.fast,
            )  # fmt: skip
            to_unit = lambda x: (x / 2 + 0.5).clamp(0, 1)  # noqa: E731  DDPM works in [-1, 1]
        last = None
        for record in steps:
            last = record
            if not args.quiet:
                print(
                    f"step {record.step + 1:4d}  t {record.t:8.2f}  "
                    f"x_t std {float(record.x_t.std()):6.3f}  pred_x0 mean {float(record.pred_x0.mean()):+.3f}"
                )
    except ValueError as error:
        print(f"error: {error}")
        return 2
    seconds = time.perf_counter() - start
    images = to_unit(last.x_prev.detach().float().cpu())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    to_image(images, (0, 1), nrow=8, scale=2).save(args.output)
    print(f"{len(images)} images, {last.step + 1} steps in {seconds:.1f} s on {device} -> {args.output}")
    return 0
