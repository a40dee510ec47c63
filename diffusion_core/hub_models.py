"""Load a public ``DDPMPipeline`` from the Hugging Face Hub, bounded: checked first, fetched lean, cached small.

``load_hub_pipeline(repo_id)`` does, under one lock (one download at a time):

1. **Check from metadata only.** ``HfApi.model_info(files_metadata=True)`` lists every file with its size;
   the three small configs (``model_index.json``, ``unet/config.json``, ``scheduler/scheduler_config.json``)
   are read. A repository is refused (``HubModelRefused``, a ``ValueError``) unless it is a UNet2DModel plus a
   diffusers scheduler that ``DDPMPipeline`` can run, with safetensors weights, images of at most
   ``MAX_SAMPLE_SIZE`` pixels and at most ``MAX_DOWNLOAD_BYTES`` to fetch. No weights are requested before that.
2. **Fetch only what a DDPMPipeline needs:** the three configs and ``unet/diffusion_pytorch_model.safetensors``
   (never a ``.bin``: pickle is not loaded), pinned to the commit that was checked.
3. **Keep the Hub cache small:** a dedicated cache folder (``HUB_CACHE_DIR``) holds at most
   ``MAX_CACHE_BYTES``; the least recently used repositories are deleted first (``scan_cache_dir``).

``HubUnreachable`` (a ``ConnectionError``) means the Hub could not be asked: no network, ``HF_HUB_OFFLINE=1``,
a time-out or a server error. Both exceptions carry their cause as data (``reason``, ``details``) so the UI
can word it in any language; their own message is English, for the CLI and the logs.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from huggingface_hub import HfApi, constants, hf_hub_download, scan_cache_dir
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    LocalEntryNotFoundError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from diffusion_core.models import BUILD_LOCK

if TYPE_CHECKING:  # diffusers is imported when first used (ARCHITECTURE.md, "Start-up")
    from diffusers import DDPMPipeline

try:  # the HTTP library huggingface_hub talks through: httpx2 from huggingface_hub 2, httpx before
    from httpx2 import HTTPError as TransportError
except ImportError:  # pragma: no cover - older huggingface_hub
    from httpx import HTTPError as TransportError

MAX_DOWNLOAD_BYTES = 200_000_000  # 200 MB: configs + weights of one Hub model, checked before any download
MAX_CACHE_BYTES = 600_000_000  # 600 MB: the whole Hub cache on disk; least recently used repositories go first
MAX_CONFIG_BYTES = 1_000_000  # a config larger than 1 MB is not a config
MAX_SAMPLE_SIZE = 64  # pixels: bigger models are too slow for a shared demo
HUB_CACHE_DIR = Path(
    os.environ.get("DIFFUSION_EXPLORER_HUB_CACHE", Path.home() / ".cache" / "diffusion-explorer" / "hub")
)
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")

MODEL_INDEX = "model_index.json"
UNET_CONFIG = "unet/config.json"
SCHEDULER_CONFIG = "scheduler/scheduler_config.json"
UNET_WEIGHTS = "unet/diffusion_pytorch_model.safetensors"

_download_lock = threading.Lock()  # one Hub download (and cache prune) at a time

REFUSALS = {  # reason -> English message; the UI words the same reasons in zh/en
    "bad_id": "{id!r} is not a Hub model id: write owner/name (local paths are not accepted)",
    "not_found": "{id} was not found on the Hub (or it is private or gated)",
    "not_pipeline": "{id} is not a DDPMPipeline: it needs a UNet2DModel and a DDPM-compatible scheduler ({found})",
    "bad_config": "{id} is not a DDPMPipeline: {file} is missing or unreadable",
    "no_safetensors": f"{{id}} has no {UNET_WEIGHTS}: only safetensors weights are loaded",
    "too_large": "{id} needs {megabytes:.1f} MB; this app loads Hub models up to {limit:.0f} MB",
    "image_too_large": "{id} makes {size}-pixel images; this app runs models up to {limit} pixels",
}


class HubModelRefused(ValueError):
    """A Hub repository this app will not load; ``reason`` is a key of ``REFUSALS``, ``details`` its numbers."""

    def __init__(self, reason: str, repo_id: str, **details: Any) -> None:
        self.reason, self.repo_id, self.details = reason, repo_id, details
        super().__init__(REFUSALS[reason].format(id=repo_id, **details))


class HubUnreachable(ConnectionError):
    """The Hub could not be asked about ``repo_id`` (offline mode, no network, time-out, server error)."""

    def __init__(self, repo_id: str, offline: bool, cause: str) -> None:
        self.repo_id, self.offline, self.cause = repo_id, offline, cause
        where = "offline mode is on (HF_HUB_OFFLINE=1)" if offline else cause
        super().__init__(f"could not reach the Hugging Face Hub for {repo_id}: {where}")


@dataclass(frozen=True)
class HubPlan:
    """What loading ``repo_id`` will fetch: ``files`` at commit ``revision``, ``total_bytes`` in all (listed sizes)."""

    repo_id: str
    revision: str
    files: tuple[str, ...]
    total_bytes: int
    sample_size: int


def check_repo_id(repo_id: Any) -> str:
    """``repo_id`` stripped, if it is an "owner/name" Hub id and not a path here; else ``HubModelRefused``."""
    text = str(repo_id if repo_id is not None else "").strip()
    if not HUB_ID.match(text) or ".." in text or os.path.exists(text):
        raise HubModelRefused("bad_id", text[:100])
    return text


def _listed_sizes(info: Any) -> dict[str, int | None]:
    return {sibling.rfilename: sibling.size for sibling in info.siblings or []}


def _read_config(
    repo_id: str, filename: str, revision: str, sizes: dict, cache_dir: Path, endpoint: str | None
) -> dict:
    """One small JSON config of the repository (listed size ≤ ``MAX_CONFIG_BYTES``), as a dict."""
    size = sizes.get(filename)
    if size is None or size > MAX_CONFIG_BYTES:  # not listed, or not a small config
        raise HubModelRefused("bad_config", repo_id, file=filename)
    with _hub_errors(repo_id, filename):
        path = hf_hub_download(repo_id, filename, revision=revision, cache_dir=cache_dir, endpoint=endpoint)
    try:
        config = json.loads(Path(path).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise HubModelRefused("bad_config", repo_id, file=filename) from None
    if not isinstance(config, dict):
        raise HubModelRefused("bad_config", repo_id, file=filename)
    return config


@functools.cache
def ddpm_schedulers() -> frozenset[str]:
    """The schedulers DDPMPipeline can run here: DDPMScheduler and those diffusers lists as sharing its config."""
    from diffusers import DDPMScheduler

    return frozenset({"DDPMScheduler", *DDPMScheduler._compatibles})


def _check_pipeline(repo_id: str, index: dict, unet: dict, scheduler: dict) -> int:
    """Refuse anything but UNet2DModel + a DDPM-compatible diffusers scheduler; returns the image size (pixels)."""
    components = {key: value for key, value in index.items() if not key.startswith("_")}
    unet_entry, scheduler_entry = components.get("unet"), components.get("scheduler")
    found = ", ".join(f"{key}: {value[1] if isinstance(value, list) and len(value) == 2 else value}"
                      for key, value in sorted(components.items()))  # fmt: skip
    fits = (
        set(components) == {"unet", "scheduler"}
        and unet_entry == ["diffusers", "UNet2DModel"]
        and isinstance(scheduler_entry, list)
        and scheduler_entry[:1] == ["diffusers"]
        and scheduler_entry[1:] == [scheduler.get("_class_name")]
        and scheduler.get("_class_name") in ddpm_schedulers()
        and unet.get("_class_name") == "UNet2DModel"
    )
    if not fits:
        raise HubModelRefused("not_pipeline", repo_id, found=found or "{}")
    size = unet.get("sample_size")
    size = max(size) if isinstance(size, (list, tuple)) and size else size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise HubModelRefused("bad_config", repo_id, file=UNET_CONFIG)  # no usable sample_size
    if size > MAX_SAMPLE_SIZE:
        raise HubModelRefused("image_too_large", repo_id, size=size, limit=MAX_SAMPLE_SIZE)
    return size


def plan_hub_download(
    repo_id: Any, *, cache_dir: str | Path = HUB_CACHE_DIR, endpoint: str | None = None,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
) -> HubPlan:  # fmt: skip
    """Check ``repo_id`` from the Hub's file list and its three small configs, before any weights are fetched.

    Raises:
        HubModelRefused: a bad id, a missing/private repo, not a DDPMPipeline, no safetensors, too large.
        HubUnreachable: the Hub could not be asked.
    """
    repo_id = check_repo_id(repo_id)
    with _hub_errors(repo_id):
        info = HfApi(endpoint=endpoint).model_info(repo_id, files_metadata=True)
    revision, sizes = info.sha, _listed_sizes(info)
    configs = [_read_config(repo_id, name, revision, sizes, Path(cache_dir), endpoint)
               for name in (MODEL_INDEX, UNET_CONFIG, SCHEDULER_CONFIG)]  # fmt: skip
    sample_size = _check_pipeline(repo_id, *configs)
    if UNET_WEIGHTS not in sizes:
        raise HubModelRefused("no_safetensors", repo_id)
    files = (MODEL_INDEX, SCHEDULER_CONFIG, UNET_CONFIG, UNET_WEIGHTS)
    listed = [sizes[name] for name in files]
    total = sum(size or 0 for size in listed)
    if None in listed or total > max_bytes:
        shown = total if None not in listed else max(total, max_bytes + 1)
        raise HubModelRefused("too_large", repo_id, megabytes=shown / 1e6, limit=max_bytes / 1e6)
    return HubPlan(repo_id, revision, files, total, sample_size)


def load_hub_pipeline(
    repo_id: Any, *, device: torch.device | str = "cpu", cache_dir: str | Path = HUB_CACHE_DIR,
    endpoint: str | None = None, max_bytes: int = MAX_DOWNLOAD_BYTES, max_cache_bytes: int = MAX_CACHE_BYTES,
) -> DDPMPipeline:  # fmt: skip
    """``DDPMPipeline`` of a public Hub repository ("owner/name"), checked, fetched lean and cached (bounded).

    ``endpoint`` is the Hub's address (default: ``HF_ENDPOINT`` or huggingface.co). The UNet comes back in
    eval mode without gradients, on ``device``; the caller keeps it as long as it likes (nothing here caches
    models in memory).

    Raises:
        HubModelRefused: see ``plan_hub_download``; HubUnreachable: the Hub could not be asked.
    """
    from diffusers import DDPMPipeline

    cache_dir = Path(cache_dir)
    with _download_lock:
        plan = plan_hub_download(repo_id, cache_dir=cache_dir, endpoint=endpoint, max_bytes=max_bytes)
        prune_hub_cache(cache_dir, max_cache_bytes, keep=plan.repo_id, keep_bytes=plan.total_bytes)
        paths = []
        for name in plan.files:
            with _hub_errors(plan.repo_id, name):
                paths.append(hf_hub_download(plan.repo_id, name, revision=plan.revision, cache_dir=cache_dir,
                                             endpoint=endpoint))  # fmt: skip
        _mark_used(paths)
        folder = Path(paths[0]).parent  # the snapshot folder: model_index.json sits at its root
        with BUILD_LOCK:  # from_pretrained patches torch for every thread while it runs (see models.BUILD_LOCK)
            pipeline = DDPMPipeline.from_pretrained(str(folder), use_safetensors=True, local_files_only=True)
    pipeline.unet.eval().requires_grad_(False)
    return pipeline.to(device)


def prune_hub_cache(cache_dir: str | Path, max_bytes: int, keep: str | None = None, keep_bytes: int = 0) -> list[str]:
    """Delete whole repositories from ``cache_dir``, least recently used first, until it holds ≤ ``max_bytes``.

    ``keep`` (a repo id) is never deleted, and counts as at least ``keep_bytes`` (the size it is about to
    have once downloaded). Returns the deleted repo ids, oldest first.
    """
    cache_dir = Path(cache_dir)
    if not cache_dir.is_dir():
        return []
    cache = scan_cache_dir(cache_dir)
    kept = sum(repo.size_on_disk for repo in cache.repos if repo.repo_id == keep)
    total, deleted = cache.size_on_disk - kept + max(kept, keep_bytes), []
    for repo in sorted(cache.repos, key=lambda repo: repo.last_accessed):
        if total <= max_bytes:
            break
        if repo.repo_id == keep:
            continue
        cache.delete_revisions(*(revision.commit_hash for revision in repo.revisions)).execute()
        total -= repo.size_on_disk
        deleted.append(repo.repo_id)
    return deleted


def _mark_used(paths: Iterable[str]) -> None:
    """Set the access time of the files' blobs to now, so LRU pruning works on filesystems mounted noatime."""
    now = time.time()
    for path in paths:
        blob = Path(path).resolve()
        os.utime(blob, (now, blob.stat().st_mtime))


@contextlib.contextmanager
def _hub_errors(repo_id: str, filename: str = "") -> Iterator[None]:
    """Turn huggingface_hub's and httpx's errors inside the block into ``HubModelRefused`` / ``HubUnreachable``."""
    try:
        yield
    except (HubModelRefused, HubUnreachable):
        raise
    except Exception as error:
        translated = _translate(repo_id, filename, error)
        if translated is None:
            raise
        raise translated from None


def _translate(repo_id: str, filename: str, error: Exception) -> Exception | None:
    """The refusal or unreachability ``error`` means, or None for a real fault (left as it is)."""
    if isinstance(error, (RepositoryNotFoundError, RevisionNotFoundError)):  # 401/404, private and gated too
        return HubModelRefused("not_found", repo_id)
    if isinstance(error, OfflineModeIsEnabled):
        return HubUnreachable(repo_id, offline=True, cause=str(error))
    if isinstance(error, LocalEntryNotFoundError):  # the network failed and the file is not cached
        return HubUnreachable(repo_id, offline=constants.is_offline_mode(), cause=str(error).splitlines()[0])
    if isinstance(error, EntryNotFoundError):  # listed, then missing: the repository changed under us
        return HubModelRefused("bad_config", repo_id, file=filename)
    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, HfHubHTTPError) and status is not None and 400 <= status < 500:
        return HubModelRefused("not_found", repo_id)  # refused by the Hub (disabled, forbidden...)
    if isinstance(error, (HfHubHTTPError, TransportError, ConnectionError, TimeoutError)):
        return HubUnreachable(repo_id, offline=constants.is_offline_mode(), cause=type(error).__name__)
    return None
