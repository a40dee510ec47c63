"""Hostile inputs for every public API name (issue 7): a clear error each time, a live server after.

Every parameter of every API name gets the inputs a hostile or careless caller may send: values
below the minimum and above the maximum, NaN and infinities, wrong types (string, number, list,
dict, null, true), 2.5 for whole numbers, huge counts and sizes, server paths and URLs for any
string / choice / model id, unknown choices; images that are not images, truncated or empty
files, decompression bombs, server paths and private URLs in place of uploads, and an upload
over ``max_file_size``. Each call must fail with a specific message (a regex per case; never
an anonymous or generic error, never a traceback) within a time limit, and after each group a
normal call of the same API name must still succeed.

The table is checked against ``client.view_api()``: a new API name or parameter without hostile
cases fails ``test_every_public_api_name_and_parameter_is_covered``. The last test writes the
count per API name and parameter to ``test-artifacts/hostile_inputs.json`` and checks that the
server process (in-process, see ``conftest``) did not grow by more than ``MEMORY_BUDGET``.

Values are sent through ``gradio_client``; NaN, infinities and hand-made file payloads (paths on
the server, URLs) go as raw JSON (``raw_call``), which ``gradio_client`` cannot send.
"""

from __future__ import annotations

import gc
import io
import json
import re
import struct
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from diffusion_core.noising import MAX_TRAIN_TIMESTEPS
from ui.components import SEED_MAX

pytestmark = pytest.mark.api

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "test-artifacts" / "hostile_inputs.json"
MEMORY_BUDGET = 500 * 2**20  # the server (this process) may not grow by more across the suite
CALL_TIMEOUT_S = 60  # a hostile call that takes longer counts as a hang
NAN, INF = float("nan"), float("inf")

# what a clear message is not: an anonymous error, Gradio's "enable show_error" text, the handler
# fallback for unexpected exceptions, or a traceback
GENERIC = re.compile(
    r"traceback|has raised an exception|verbose error|something went wrong|logged on the server|File \"/", re.I
)
RANGE = r"between|at least|at most"
CHOICE = r"not in the list of choices|must be one of"
NOT_UPLOADED = r"must be uploaded to this server first"
NOT_A_FILE = r"uploaded with gradio_client\.handle_file"
URL_REFUSED = r"URL could not be downloaded"
META = {"_type": "gradio.FileData"}


# ----------------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """Files made by the ``samples`` fixture, sent with ``handle_file`` (a list when ``many``)."""

    names: tuple[str, ...]
    many: bool = False


@dataclass(frozen=True)
class Case:
    label: str
    value: Any
    expect: str  # a regex the error message must match (case-insensitive)
    raw: bool = False  # send as raw JSON: NaN, infinities, hand-made file payloads
    changes: dict = field(default_factory=dict)  # other parameters changed with this one


def number(name: str, low: float, high: float, whole: bool) -> list[Case]:
    """Out of range, non-finite, wrong types, huge, and (for whole numbers) 2.5-like values."""
    n = re.escape(name)
    huge = 10**9 if high < 10**9 else 10**18
    cases = [
        Case("below min", low - 1, rf"{n} must be .*({RANGE})"),
        Case("above max", high + 1, rf"{n} must be .*({RANGE})"),
        Case(f"huge {huge:.0e}", huge, rf"{n} must be .*({RANGE})"),
        Case("NaN", NAN, rf"{n} must be a finite number", raw=True),
        Case("+inf", INF, rf"{n} must be a finite number", raw=True),
        Case("-inf", -INF, rf"{n} must be a finite number", raw=True),
        Case("'nan' string", "nan", rf"{n} must be a finite number"),
        Case("string", "lots", rf"{n} must be a number"),
        Case("empty string", "", rf"{n} must be a number"),
        Case("list", [1], rf"{n} must be a number"),
        Case("dict", {"a": 1}, rf"{n} must be a number"),
        Case("null", None, rf"{n} must be a number"),
        Case("true", True, rf"{n} must be a number"),
    ]
    if whole:
        cases.append(Case("non-integer", low + 0.5, rf"{n} must be a whole number"))
    return cases


PATH_LIKE = ("/etc/passwd", "../../app.py", "file:///etc/passwd")


def choice(name: str, choices: tuple, null: str | None = None) -> list[Case]:
    """Paths, unknown choices, wrong types; ``null`` is the expected message for null (None: accepted)."""
    first = choices[0]
    cases = [Case(f"path {p}", p, CHOICE) for p in PATH_LIKE]
    cases += [
        Case("unknown choice", "unknown", CHOICE),
        Case("empty string", "", CHOICE),
        Case("number", 42, CHOICE),
        Case("NaN", NAN, CHOICE, raw=True),
        Case("list", [first], CHOICE),
        Case("dict", {"a": 1}, CHOICE),
    ]
    if isinstance(first, str) and first.upper() != first:
        cases.append(Case("wrong case", first.upper(), CHOICE))
    if null is not None:
        cases.append(Case("null", None, null))
    return cases


def numeric_choice(name: str, choices: tuple) -> list[Case]:
    """A radio of numbers (the UNet's channels): other numbers, numeric strings, wrong types."""
    n = re.escape(name)
    cases = [Case(f"path {p}", p, CHOICE) for p in PATH_LIKE]
    cases += [
        Case("other number", 2, CHOICE),
        Case("non-integer", 1.5, CHOICE),
        Case("huge 1e+09", 10**9, CHOICE),
        Case("numeric string", str(choices[0]), CHOICE),
        Case("NaN", NAN, CHOICE, raw=True),
        Case("list", [choices[0]], CHOICE),
        Case("dict", {"a": 1}, CHOICE),
        Case("null", None, rf"{n} must be a number"),
        Case("true", True, rf"{n} must be a number"),
    ]
    return cases


def flag(name: str) -> list[Case]:
    """A checkbox: anything but true/false."""
    expect = rf"{re.escape(name)} must be true or false"
    return [
        Case("string 'yes'", "yes", expect),
        Case("string 'true'", "true", expect),
        Case("path", "/etc/passwd", expect),
        Case("number 1", 1, expect),
        Case("number 0", 0, expect),
        Case("NaN", NAN, expect, raw=True),
        Case("list", [True], expect),
        Case("dict", {"a": 1}, expect),
        Case("null", None, expect),
    ]


def many(name: str, choices: tuple, empty: str | None) -> list[Case]:
    """A checkbox group (a list of choices): scalars, unknown members, nested and wrong types."""
    first = choices[0]
    n = re.escape(name)
    cases = [
        Case("path string", "/etc/passwd", rf"{n} must be a list"),
        Case("one choice, not a list", first, rf"{n} must be a list"),
        Case("number", 42, rf"{n} must be a list"),
        Case("dict", {"a": 1}, rf"{n} must be a list"),
        Case("null", None, rf"{n} must be a list"),
        Case("NaN", NAN, rf"{n} must be a list", raw=True),
        Case("unknown member", ["unknown"], CHOICE),
        Case("path member", ["../../app.py"], CHOICE),
        Case("nested list", [[first]], CHOICE),
        Case("null member", [None], CHOICE),
        Case("NaN member", [NAN], CHOICE, raw=True),
        Case("huge member", [10**9], CHOICE),
        Case("dict member", [{"a": 1}], CHOICE),
    ]
    if empty is not None:
        cases.append(Case("empty list", [], empty))
    return cases


def language() -> list[Case]:
    """The language radio: null falls back to Chinese (accepted); anything else is refused."""
    return choice("lang", ("zh", "en"), null=None)


def server_file(path: str) -> dict:
    return {"path": path, "meta": META}


def image() -> list[Case]:
    """An image upload: broken files, bombs, server paths and private URLs, wrong types."""
    upload = {"source": "upload"}
    cases = [
        Case("text file", Upload(("text",)), r"not an image", changes=upload),
        Case("random bytes named .png", Upload(("random_png",)), r"not an image", changes=upload),
        Case("truncated PNG", Upload(("truncated",)), r"image", changes=upload),
        Case("empty file", Upload(("empty",)), r"image|empty", changes=upload),
        Case("SVG with a script", Upload(("svg",)), r"not an image", changes=upload),
        Case("bomb: header 50000x50000", Upload(("bomb",)), r"too large|decompression bomb", changes=upload),
        Case("49-megapixel PNG (48 KB)", Upload(("megapixels",)), r"too large", changes=upload),
    ]
    cases += [
        Case(f"server path {p}", server_file(p), NOT_UPLOADED, raw=True, changes=upload)
        for p in ("/etc/passwd", "../../app.py", str(ROOT / "app.py"), "/proc/self/environ", "file:///etc/passwd")
    ]
    cases += [
        Case(
            "file URL in url",
            {"path": "x.png", "url": "file:///etc/passwd", "meta": META},
            NOT_UPLOADED,
            raw=True,
            changes=upload,
        ),
        Case(
            "cloud metadata URL",
            server_file("http://169.254.169.254/latest/meta-data/"),
            URL_REFUSED,
            raw=True,
            changes=upload,
        ),
        Case("loopback URL", server_file("http://127.0.0.1:1/x.png"), URL_REFUSED, raw=True, changes=upload),
        Case("path string, not a file", "/etc/passwd", NOT_A_FILE, raw=True, changes=upload),
        Case("number", 42, NOT_A_FILE, raw=True, changes=upload),
        Case("list", [1], NOT_A_FILE, raw=True, changes=upload),
        Case("non-string path", {"path": 42, "meta": META}, NOT_A_FILE, raw=True, changes=upload),
        Case("dict without a file", {"a": 1}, r"image", raw=True, changes=upload),
        Case("no upload at all", None, r"upload", changes=upload),
    ]
    return cases


def training_files() -> list[Case]:
    """The training set upload (8..2000 files): one bad file among good ones, paths, wrong types."""
    upload = {"data": "upload"}
    good = tuple(f"digit{i}" for i in range(7))
    cases = [
        Case(
            "7 digits + random bytes",
            Upload((*good, "random_png"), many=True),
            r"file 8 of 8 .*not an image",
            changes=upload,
        ),
        Case(
            "7 digits + truncated",
            Upload((*good, "truncated"), many=True),
            r"file 8 of 8 .*(broken|truncated)",
            changes=upload,
        ),
        Case("7 digits + empty", Upload((*good, "empty"), many=True), r"file 8 of 8 .*empty", changes=upload),
        Case("7 digits + bomb", Upload((*good, "bomb"), many=True), r"file 8 of 8 .*(too large|bomb)", changes=upload),
        Case("7 digits + 49 MP", Upload((*good, "megapixels"), many=True), r"file 8 of 8 .*too large", changes=upload),
        Case("7 digits + SVG", Upload((*good, "svg"), many=True), r"file 8 of 8 .*not an image", changes=upload),
        Case("server path in a list", [server_file("/etc/passwd")], NOT_UPLOADED, raw=True, changes=upload),
        Case("../../app.py in a list", [server_file("../../app.py")], NOT_UPLOADED, raw=True, changes=upload),
        Case(
            "cloud metadata URL",
            [server_file("http://169.254.169.254/latest/meta-data/")],
            URL_REFUSED,
            raw=True,
            changes=upload,
        ),
        Case("one server path, no list", server_file("/etc/passwd"), NOT_UPLOADED, raw=True, changes=upload),
        Case("path string", "/etc/passwd", NOT_A_FILE, raw=True, changes=upload),
        Case("list of path strings", ["/etc/passwd"], NOT_A_FILE, raw=True, changes=upload),
        Case("number", 42, NOT_A_FILE, raw=True, changes=upload),
        Case("dict", {"a": 1}, NOT_A_FILE, raw=True, changes=upload),
        Case("empty list", [], r"upload 8", changes=upload),
        Case("null", None, r"upload 8", changes=upload),
    ]
    return cases


def hub_id() -> list[Case]:
    """The Hub model id box: only owner/name of the Hub, never a local path or a URL."""
    hub = {"source": "hub"}
    values = [
        *PATH_LIKE,
        str(ROOT / "assets" / "checkpoints" / "ddpm_mnist"),
        "assets/checkpoints",  # owner/name-shaped, but a folder on the server
        "tests/conftest.py",
        "a/../b",
        "~/.cache",
        "C:\\Windows\\System32",
        "http://127.0.0.1:1/model",
        "",
        "x" * 100_000,
        42,
        None,
        [1],
        {"a": 1},
    ]
    cases = [Case(f"{str(v)[:40]!r}", v, r"not a Hub model id", changes=hub) for v in values]
    cases.append(Case("NaN", NAN, r"not a Hub model id", raw=True, changes=hub))
    # owner/name-shaped and not a folder here: it may only be looked up on the Hub (offline here: refused)
    cases.append(Case("etc/passwd (Hub lookup)", "etc/passwd", r"Hub", changes=hub))
    return cases


def seed() -> list[Case]:
    return number("seed", 0, SEED_MAX, whole=True)


# ----------------------------------------------------------------------------------------------
# The table: every API name, its cheap normal call, and the cases of each parameter
# ----------------------------------------------------------------------------------------------


@dataclass
class Endpoint:
    base: dict  # a cheap normal call, keyed by the API's parameter names, in order
    check: Callable[[Any], bool]  # does the normal call's output look right?
    params: dict  # parameter name (or a "(...)" group of combinations) -> cases
    stateful: bool = False  # uses this session's trained models: called through the `trainer` client


# /ddpm_noise and /noising_frames take the same DDPM noising widgets (the first also the language)
NOISING_BASE = {
    "source": "mnist",
    "seed": 0,
    "upload": None,
    "schedule": "linear",
    "T": 1000,
    "beta_start": 1e-4,
    "beta_end": 0.02,
    "t": 250,
    "noise_kind": "randn",
}
NOISING_PARAMS = {
    "source": choice("source", ("mnist", "upload"), null="source must be one of"),
    "seed": seed(),
    "upload": image(),
    "schedule": choice(
        "schedule", ("linear", "scaled_linear", "squaredcos_cap_v2"), null="beta schedule must be one of"
    ),
    "T": number("T (num_train_timesteps)", 2, MAX_TRAIN_TIMESTEPS, whole=True),
    "beta_start": number("beta_start", 1e-8, 0.5, whole=False),
    "beta_end": number("beta_end", 1e-8, 0.999, whole=False),
    "t": number("timestep t", 0, 999, whole=True),
    "noise_kind": choice("noise_kind", ("randn", "rand"), null="noise must be one of"),
    "(combinations)": [
        Case("t beyond a small T", 50, r"timestep t must be between 0 and 9", changes={"T": 10, "t": 50}),
        Case("beta_start above beta_end", 0.3, r"smaller", changes={"beta_start": 0.3, "beta_end": 0.1}),
    ],
}

TABLE: dict[str, Endpoint] = {
    "corrupt": Endpoint(
        base={"source": "mnist", "seed": 0, "amount": 0.3, "upload": None, "lang": "en"},
        check=lambda out: "0.30" in out[4],
        params={
            "source": choice("source", ("mnist", "upload"), null="source must be one of"),
            "seed": seed(),
            "amount": number("amount", 0, 1, whole=False),
            "upload": image(),
            "lang": language(),
        },
    ),
    "ddpm_noise": Endpoint(
        base={**NOISING_BASE, "lang": "en"},
        check=lambda out: "t = 250" in out[7],
        params={**NOISING_PARAMS, "lang": language()},
    ),
    "corruption_frames": Endpoint(
        base={"source": "mnist", "seed": 0, "amount": 0.3, "upload": None},
        check=lambda out: json.loads(out)["kind"] == "mix" and json.loads(out)["value"] == 0.3,
        params={
            "source": choice("source", ("mnist", "upload"), null="source must be one of"),
            "seed": seed(),
            "amount": number("amount", 0, 1, whole=False),
            "upload": image(),
        },
    ),
    "noising_frames": Endpoint(
        base=NOISING_BASE,
        check=lambda out: json.loads(out)["kind"] == "ddpm" and json.loads(out)["value"] == 250,
        params=NOISING_PARAMS,
    ),
    "trace_shapes": Endpoint(
        base={
            "source": "random",
            "seed": 0,
            "batch": 1,
            "channels": 1,
            "height": 28,
            "width": 28,
            "upload": None,
            "step": 1,
            "lang": "en",
        },
        check=lambda out: out[2].startswith("✓"),
        params={
            "source": choice("source", ("random", "mnist", "upload"), null="source must be one of"),
            "seed": seed(),
            "batch": number("batch", 1, 64, whole=True),
            "channels": numeric_choice("channels", (1, 3)),
            "height": number("height", 4, 256, whole=True),
            "width": number("width", 4, 256, whole=True),
            "upload": image(),
            "step": number("step", 1, 24, whole=True),
            "lang": language(),
            "(combinations)": [
                Case(
                    "batch x height x width too large",
                    256,
                    r"too large",
                    changes={"batch": 8, "height": 256, "width": 256},
                ),
            ],
        },
    ),
    "unet2d_anatomy": Endpoint(
        base={
            "blocks": "32,64,64",
            "layers": 2,
            "attention": True,
            "batch": 1,
            "channels": 1,
            "height": 28,
            "width": 28,
            "lang": "en",
        },
        check=lambda out: "1,707,009" in out[1],
        params={
            "blocks": [
                *choice("blocks", ("32,64,64",), null="block_out_channels must be one of"),
                Case("unknown preset", "32,64,64,128,256", CHOICE),
                Case("huge channels", "1000000000,1000000000", CHOICE),
            ],
            "layers": number("layers_per_block", 1, 3, whole=True),
            "attention": flag("attention"),
            "batch": number("batch", 1, 64, whole=True),
            "channels": numeric_choice("channels", (1, 3)),
            "height": number("height", 4, 256, whole=True),
            "width": number("width", 4, 256, whole=True),
            "lang": language(),
        },
    ),
    "train": Endpoint(
        base={
            "kind": "basic",
            "data": "mnist",
            "uploads": None,
            "rgb": False,
            "steps": 1,
            "batch": 2,
            "lr": 1e-3,
            "seed": 0,
            "preview_every": 1,
            "log_scale": False,
            "lang": "en",
        },
        check=lambda out: "Done" in out[4],
        params={
            "kind": choice("kind", ("basic", "ddpm"), null="model must be one of"),
            "data": choice("data", ("mnist", "upload"), null="data must be one of"),
            "uploads": training_files(),
            "rgb": flag("rgb"),
            "steps": number("steps", 1, 5000, whole=True),
            "batch": number("batch size", 1, 512, whole=True),
            "lr": number("learning rate", 1e-7, 1.0, whole=False),
            "seed": seed(),
            "preview_every": number("preview every", 1, 500, whole=True),
            "log_scale": flag("log_scale"),
            "lang": language(),
            "(combinations)": [
                Case(
                    "colour data for BasicUNet",
                    True,
                    r"colour 32×32 is for UNet2DModel only",
                    changes={
                        "data": "upload",
                        "rgb": True,
                        "uploads": Upload(tuple(f"digit{i}" for i in range(8)), many=True),
                    },
                ),
            ],
        },
        stateful=True,
    ),
    "train_download": Endpoint(
        base={"kind": "ddpm", "lang": "en"},
        check=lambda out: len(out) == 2 and out[0].endswith(".safetensors"),
        params={"kind": choice("kind", ("basic", "ddpm"), null="model must be one of"), "lang": language()},
        stateful=True,
    ),
    "train_reset": Endpoint(
        base={"kind": "basic", "lang": "en"},
        check=lambda out: "back to the bundled model" in out,
        params={"kind": choice("kind", ("basic", "ddpm"), null="model must be one of"), "lang": language()},
        stateful=True,
    ),
    "mix_sample": Endpoint(
        base={"n_steps": 1, "batch": 1, "seed": 0, "lang": "en"},
        check=lambda out: "Step 1/1" in out[4],
        params={
            "n_steps": number("n_steps", 1, 50, whole=True),
            "batch": number("batch", 1, 64, whole=True),
            "seed": seed(),
            "lang": language(),
        },
    ),
    "ddpm_sample": Endpoint(
        base={"scheduler": "ddim", "steps": 1, "batch": 1, "seed": 0, "lang": "en"},
        check=lambda out: "Step 1/1" in out[4],
        params={
            "scheduler": choice("scheduler", ("ddim", "ddpm", "dpm++", "euler"), null="scheduler must be one of"),
            "steps": number("steps", 1, 1000, whole=True),
            "batch": number("batch", 1, 64, whole=True),
            "seed": seed(),
            "lang": language(),
        },
    ),
    "pipeline_sample": Endpoint(
        base={"source": "bundled", "hub_id": "google/ddpm-cifar10-32", "steps": 1, "batch": 1, "seed": 0, "lang": "en"},
        check=lambda out: "1 images, 1 steps" in out[1],
        params={
            "source": choice("source", ("bundled", "session", "hub"), null="source must be one of"),
            "hub_id": hub_id(),
            "steps": number("steps", 1, 1000, whole=True),
            "batch": number("batch", 1, 64, whole=True),
            "seed": seed(),
            "lang": language(),
        },
    ),
    "save_pipeline": Endpoint(
        base={"lang": "en"},
        check=lambda out: out.endswith(".zip"),
        params={"lang": language()},
        stateful=True,
    ),
    "quality": Endpoint(
        base={"samplers": ["ddim"], "steps": [1], "n": 8, "seed": 0, "lang": "en"},
        check=lambda out: "n = 8 per point" in out[1],
        params={
            "samplers": many("samplers", ("ddim", "ddpm", "dpm++", "euler"), empty=r"choose at least one sampler"),
            "steps": many("steps", (1, 2, 5, 10, 20, 50), empty=r"choose at least one step count"),
            "n": number("n", 8, 64, whole=True),
            "seed": seed(),
            "lang": language(),
        },
    ),
    "quality_objectives": Endpoint(
        base={"t": 500, "seed": 0, "lang": "en"},
        check=lambda out: "t = 500" in out[6],
        params={"t": number("t", 0, 999, whole=True), "seed": seed(), "lang": language()},
    ),
    "quality_loss_t": Endpoint(
        base={"n": 4, "points": 5, "seed": 0, "lang": "en"},
        check=lambda out: "4 images, 5 timesteps" in out[1],
        params={
            "n": number("images", 4, 64, whole=True),
            "points": number("timesteps", 5, 50, whole=True),
            "seed": seed(),
            "lang": language(),
        },
    ),
    "quality_failures": Endpoint(
        base={"modes": [], "sampler": "ddim", "steps": 2, "few": 1, "n": 4, "seed": 0, "lang": "en"},
        check=lambda out: "2 DDIM steps" in out[1],
        params={
            "modes": many("modes", ("rand", "no_scaling", "few_steps", "undertrained"), empty=None),
            "sampler": choice("sampler", ("ddim", "dpm++", "euler", "ddpm"), null="sampler must be one of"),
            "steps": number("steps", 2, 50, whole=True),
            "few": number("few steps", 1, 10, whole=True),
            "n": number("images", 4, 32, whole=True),
            "seed": seed(),
            "lang": language(),
        },
    ),
}

GROUPS = [(api, param) for api, endpoint in TABLE.items() for param in endpoint.params]
COUNTS: dict[str, Counter] = {api: Counter() for api in TABLE}
SANITY_CALLS = Counter()  # normal calls answered correctly after hostile groups
SANITY_FAILURES = Counter()  # normal calls after hostile groups that the server did not answer


# ----------------------------------------------------------------------------------------------
# Sample files and sending
# ----------------------------------------------------------------------------------------------


def png(width: int, height: int, rows: bytes) -> bytes:
    """A grayscale PNG whose header says ``width`` x ``height``, with ``rows`` zlib-compressed as its data."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(7)
    noise = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8)).save(noise, format="PNG")
    files: dict[str, bytes] = {
        "text": b"milk, eggs, bread\n",
        "random_png": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "truncated": noise.getvalue()[: len(noise.getvalue()) // 2],
        "empty": b"",
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        # the header claims 50000 x 50000 (2.5 gigapixels); the file holds a few rows
        "bomb": png(50_000, 50_000, b"\x00" * 50_001 * 4),
        # 7000 x 7000 black = 49 megapixels, a real image that decodes, in ~48 KB
        "megapixels": png(7000, 7000, b"\x00" * 7001 * 7000),
    }
    names = {"text": "notes.txt", "svg": "picture.svg"}
    paths = {}
    for key, data in files.items():
        path = folder / names.get(key, f"{key}.png")
        path.write_bytes(data)
        paths[key] = str(path)
    for index in range(8):
        path = folder / f"digit{index}.png"
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(path)
        paths[f"digit{index}"] = str(path)
    assert Path(paths["bomb"]).stat().st_size < 10_000 and Path(paths["megapixels"]).stat().st_size < 200_000
    return paths


def resolve(value: Any, samples: dict[str, str]) -> Any:
    if isinstance(value, Upload):
        files = [handle_file(samples[name]) for name in value.names]
        return files if value.many else files[0]
    return value


def call(client: Client, api: str, args: list, timeout: float = CALL_TIMEOUT_S) -> Any:
    return client.submit(*args, api_name=f"/{api}").result(timeout=timeout)


def assert_clear(message: Any, expect: str, where: str) -> None:
    assert isinstance(message, str) and message.strip(), f"{where}: anonymous error {message!r}"
    assert not GENERIC.search(message), f"{where}: generic error {message!r}"
    assert len(message) < 2000, f"{where}: a {len(message)}-character message"
    assert re.search(expect, message, re.I | re.S), f"{where}: {message!r} does not match {expect!r}"


def send_hostile(client: Client, raw_call, api: str, param: str, case: Case, samples: dict[str, str]) -> str:
    """Send one hostile call; return its error message (failing the test if it succeeded or hung)."""
    endpoint = TABLE[api]
    args = {**endpoint.base, **case.changes}
    if param in args:
        args[param] = case.value
    args = {key: resolve(value, samples) for key, value in args.items()}
    where = f"{api}({param} = {case.label})"
    COUNTS[api][param] += 1
    start = time.perf_counter()
    if case.raw:
        event, payload = raw_call(api, json.dumps(list(args.values())), timeout=CALL_TIMEOUT_S)
        assert event == "error", f"{where}: accepted ({event}: {str(payload)[:200]})"
        message = payload.get("error") if isinstance(payload, dict) else payload
    else:
        with pytest.raises(AppError) as caught:
            call(client, api, list(args.values()))
        message = caught.value.message
    assert time.perf_counter() - start < CALL_TIMEOUT_S, f"{where}: took too long"
    assert_clear(message, case.expect, where)
    return message


def sanity(client: Client, api: str) -> None:
    """The cheap normal call of ``api`` still works (the server lives, the queue moves)."""
    endpoint = TABLE[api]
    try:
        out = call(client, api, list(endpoint.base.values()), timeout=180)
    except Exception:
        SANITY_FAILURES[api] += 1  # the server did not answer a normal call after a hostile group
        raise
    SANITY_CALLS[api] += 1
    assert endpoint.check(out), f"{api}: unexpected normal output {str(out)[:300]}"


# ----------------------------------------------------------------------------------------------
# Fixtures: a session of its own for the stateful names, and the memory baseline after warm-up
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trainer(app_url: str) -> Client:
    """A session of its own for training, downloads and resets, so the shared ``client`` keeps its models."""
    return Client(app_url, verbose=False)


@pytest.fixture(scope="module")
def baseline(client: Client, trainer: Client) -> dict:
    """Warm every API name up (lazy checkpoints, classifier, MNIST), then record the process's memory."""
    ddpm = {**TABLE["train"].base, "kind": "ddpm", "lr": 4e-4}
    assert "Done" in call(trainer, "train", list(ddpm.values()), timeout=300)[4]
    for api, endpoint in TABLE.items():
        sanity(trainer if endpoint.stateful else client, api)
    gc.collect()
    return {"rss": psutil.Process().memory_info().rss, "start": time.perf_counter()}


# ----------------------------------------------------------------------------------------------
# Tests
# ----------------------------------------------------------------------------------------------


def test_every_public_api_name_and_parameter_is_covered(client: Client):
    """The table covers exactly the app's API: a new name or parameter without hostile cases fails here."""
    info = client.view_api(return_format="dict", print_info=False)
    assert not info["unnamed_endpoints"], f"unnamed endpoints are public: {list(info['unnamed_endpoints'])}"
    api = {
        name.lstrip("/"): [p["parameter_name"] for p in ep["parameters"]]
        for name, ep in info["named_endpoints"].items()
    }
    missing = sorted(set(api) - set(TABLE))
    stale = sorted(set(TABLE) - set(api))
    assert not missing, f"API names without hostile cases: {missing}"
    assert not stale, f"the table lists API names the app no longer has: {stale}"
    for name, parameters in api.items():
        assert list(TABLE[name].base) == parameters, f"{name}: the API takes {parameters}"
        uncovered = [p for p in parameters if not TABLE[name].params.get(p)]
        assert not uncovered, f"{name}: parameters without hostile cases: {uncovered}"


@pytest.mark.parametrize(("api", "param"), GROUPS, ids=[f"{api}-{param}" for api, param in GROUPS])
def test_hostile_inputs_get_clear_errors(client, trainer, raw_call, samples, baseline, api, param):
    endpoint = TABLE[api]
    caller = trainer if endpoint.stateful else client
    for case in endpoint.params[param]:
        send_hostile(caller, raw_call, api, param, case, samples)
    sanity(caller, api)


def test_calls_before_anything_was_trained_get_clear_errors(app_url, baseline):
    """A fresh session has no model to download or save: clear errors, not a crash."""
    fresh = Client(app_url, verbose=False)
    cases = [
        ("train_download", ["ddpm", "en"], r"no UNet2DModel has been trained"),
        ("train_download", ["basic", "en"], r"no BasicUNet has been trained"),
        ("save_pipeline", ["en"], r"has not trained a DDPM model"),
        ("pipeline_sample", ["session", "", 1, 1, 0, "en"], r"has not trained a DDPM model"),
    ]
    for api, args, expect in cases:
        COUNTS[api]["(fresh session)"] += 1
        with pytest.raises(AppError) as caught:
            call(fresh, api, args)
        assert_clear(caught.value.message, expect, f"{api} in a fresh session")


def test_upload_above_max_file_size_is_refused_clearly(client, trainer, samples, tmp_path, baseline):
    """A 21 MiB upload through gradio_client.handle_file never reaches a handler: refused with the limit named.

    (``test_security`` checks the server's own refusal of the upload route.)
    """
    big = tmp_path / "big.png"
    with open(big, "wb") as handle:
        handle.truncate(21 * 2**20)  # 21 MiB of zeros, sparse on disk
    digits = [handle_file(samples[f"digit{i}"]) for i in range(7)]
    train = {**TABLE["train"].base, "data": "upload", "uploads": [*digits, handle_file(str(big))]}
    attempts = [
        (client, "corrupt", "upload", ["upload", 0, 0.3, handle_file(str(big)), "en"]),
        (client, "trace_shapes", "upload", ["upload", 0, 1, 1, 28, 28, handle_file(str(big)), 1, "en"]),
        (trainer, "train", "uploads", list(train.values())),
    ]
    for caller, api, param, args in attempts:
        COUNTS[api][param] += 1
        with pytest.raises((ValueError, httpx.HTTPStatusError)) as caught:
            call(caller, api, args)
        message = str(caught.value)
        assert re.search(r"exceeds the maximum file size|413|too large", message, re.I), message
        assert not GENERIC.search(message), message
        sanity(caller, api)


def test_report_hostile_input_count_and_memory(app_url, client, baseline):
    """Last: every API name was attacked, the queue is idle, memory stayed bounded; write the report."""
    if not sum(sum(c.values()) for c in COUNTS.values()):
        pytest.skip("run the whole file: this test reports on the others")
    alive = httpx.get(f"{app_url}/gradio_api/info", timeout=30).status_code == 200
    sanity(client, "corrupt")
    queue = httpx.get(f"{app_url}/gradio_api/queue/status", timeout=10).json()
    gc.collect()
    rss = psutil.Process().memory_info().rss
    growth = rss - baseline["rss"]
    total = sum(sum(c.values()) for c in COUNTS.values())
    report = {
        "total_hostile_inputs": total,
        "server_answering_at_end": alive,
        "normal_calls_not_answered": sum(SANITY_FAILURES.values()),
        "per_api_name": {
            api: {"total": sum(counts.values()), "per_parameter": dict(counts)} for api, counts in COUNTS.items()
        },
        "normal_calls_after_hostile_ones": sum(SANITY_CALLS.values()),
        "queue_status_after": queue,
        "rss_mib_after_warm_up": round(baseline["rss"] / 2**20, 1),
        "rss_mib_at_end": round(rss / 2**20, 1),
        "rss_growth_mib": round(growth / 2**20, 1),
        "seconds": round(time.perf_counter() - baseline["start"], 1),
    }
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\n{total} hostile inputs across {len(COUNTS)} API names; server answering: {alive}. Report: {REPORT}")
    assert alive and not SANITY_FAILURES, dict(SANITY_FAILURES)
    assert all(sum(COUNTS[api].values()) > 0 for api in TABLE), {api: sum(c.values()) for api, c in COUNTS.items()}
    assert queue.get("queue_size", 0) == 0, queue
    assert growth < MEMORY_BUDGET, f"the server grew by {growth / 2**20:.0f} MiB"
