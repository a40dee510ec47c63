"""``python -m diffusion_core bench``: run benchmark suites and update BENCHMARKS.md.

Each suite's tables are written between ``<!-- suite:NAME -->`` markers, so running one suite
(or running the GPU suites on a lent GPU) leaves the other tables in place.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import re
import time
from pathlib import Path

from diffusion_core.benchmarks import SUITES, BenchTable, machine_description

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
HEADER = """# Benchmarks

Written by `python -m diffusion_core bench`. Every ratio compares against the plain (seed) way,
measured in the same run on the same machine. Absolute times count only on a GPU; on the
2-core CPU machines they are for orientation.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", nargs="*", choices=sorted(SUITES), help="run only these suites")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="markdown file to update")
    parser.add_argument("--no-write", action="store_true", help="print the tables, do not update the file")


def run(args: argparse.Namespace) -> int:
    names = args.only or list(SUITES)
    print(f"machine: {machine_description()}")
    for name in names:
        module_name = SUITES[name]
        if importlib.util.find_spec(module_name) is None:
            print(f"[{name}] not available yet, skipped")
            continue
        start = time.perf_counter()
        tables: list[BenchTable] = importlib.import_module(module_name).run(quick=args.quick)
        markdown = "\n".join(table.to_markdown() for table in tables)
        print(f"\n[{name}] ({time.perf_counter() - start:.0f} s)\n{markdown}")
        if not args.no_write:
            write_section(args.output, name, markdown)
    return 0


def write_section(path: Path, name: str, markdown: str) -> None:
    """Replace (or append) the ``name`` suite's section of the markdown file."""
    text = path.read_text() if path.exists() else HEADER
    start, end = f"<!-- suite:{name} -->", f"<!-- /suite:{name} -->"
    block = f"{start}\n{markdown}{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
