"""Command line: ``python -m diffusion_core {train,sample,bench,eval} ...``.

Each subcommand lives in its own module, which provides ``add_arguments(parser)`` and
``run(args) -> int``. Modules are imported only when their subcommand runs, so ``--help``
stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "train": ("diffusion_core.train_cli", "train BasicUNet (x0) or UNet2DModel (noise) and save a checkpoint"),
    "sample": ("diffusion_core.sample_cli", "sample images from a checkpoint"),
    "bench": ("diffusion_core.bench", "run the benchmarks and write BENCHMARKS.md"),
    "eval": ("diffusion_core.eval_cli", "train the feature classifier or score samples"),
}


def _available() -> dict[str, tuple[str, str]]:
    found = {}
    for name, (module, help_text) in SUBCOMMANDS.items():
        if importlib.util.find_spec(module) is not None:
            found[name] = (module, help_text)
    return found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    available = _available()
    parser = argparse.ArgumentParser(prog="python -m diffusion_core", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    wanted = argv[0] if argv and argv[0] in available else None
    for name, (module, help_text) in available.items():
        sub_parser = sub.add_parser(name, help=help_text)
        if name == wanted:
            importlib.import_module(module).add_arguments(sub_parser)
    args = parser.parse_args(argv)
    return int(importlib.import_module(available[args.command][0]).run(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
