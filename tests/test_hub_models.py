"""Bounded Hub loading (``diffusion_core.hub_models``) against a Hub-like server on loopback, never the network.

A real tiny ``DDPMPipeline`` (``save_pretrained``) is served by ``tests/fake_hub.py``; huggingface_hub and
diffusers do the real requests, downloads, cache and loading.
"""

from __future__ import annotations

import functools
import json
import shutil
import socket
import threading
from pathlib import Path

import pytest
import torch
from diffusers import DDPMPipeline, DDPMScheduler
from fake_hub import FakeHub, FakeRepo
from huggingface_hub import constants, scan_cache_dir
from tiny import TINY_UNET

from diffusion_core import sampling
from diffusion_core.checkpoints import save_ddpm_pipeline
from diffusion_core.hub_models import (
    UNET_WEIGHTS,
    HubModelRefused,
    HubUnreachable,
    load_hub_pipeline,
    plan_hub_download,
    prune_hub_cache,
)
from diffusion_core.models import build_unet2d


@pytest.fixture(autouse=True)
def online(monkeypatch):
    """CI sets HF_HUB_OFFLINE=1; these tests talk to the loopback fake Hub only."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    """A real tiny DDPMPipeline folder (8x8 images), plus a pickle ``.bin`` that must never be fetched."""
    torch.manual_seed(0)
    folder = save_ddpm_pipeline(build_unet2d(**TINY_UNET).eval(), DDPMScheduler(), tmp_path_factory.mktemp("tiny"))
    (folder / "unet" / "diffusion_pytorch_model.bin").write_bytes(b"not a pickle the app may open")
    return folder


@pytest.fixture
def hub():
    with FakeHub() as server:
        yield server


def copy_of(folder: Path, tmp_path: Path, name: str, **edits: dict) -> Path:
    """A copy of ``folder`` with JSON files edited: ``edits={"unet/config.json": {"sample_size": 256}}``."""
    target = tmp_path / name
    shutil.copytree(folder, target)
    for filename, changes in edits.items():
        path = target / filename
        path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return target


def test_a_tiny_pipeline_loads_from_the_hub_and_samples(hub, tiny_folder, tmp_path):
    hub.repos["me/tiny"] = FakeRepo(tiny_folder)
    pipeline = load_hub_pipeline("me/tiny", endpoint=hub.url, cache_dir=tmp_path / "cache")
    images = sampling.pipeline_sample(pipeline, 3, 2, torch.Generator().manual_seed(0))
    assert images.shape == (2, 1, 8, 8) and images.min() >= 0 and images.max() <= 1
    assert not pipeline.unet.training and not any(p.requires_grad for p in pipeline.unet.parameters())
    # the weights are the ones served, and only what a DDPMPipeline needs was fetched (no .bin)
    served = DDPMPipeline.from_pretrained(tiny_folder, use_safetensors=True).unet.state_dict()
    assert all(torch.equal(served[name], tensor) for name, tensor in pipeline.unet.state_dict().items())
    downloaded = sorted(path.split("/resolve/")[1].split("/", 1)[1] for method, path in hub.requests
                        if method == "GET" and "/resolve/" in path)  # fmt: skip
    assert downloaded == sorted(["model_index.json", "scheduler/scheduler_config.json", "unet/config.json",
                                 UNET_WEIGHTS])  # fmt: skip
    assert not hub.fetched(".bin")


def test_an_oversized_repo_is_refused_before_any_weights_are_requested(hub, tiny_folder, tmp_path):
    hub.repos["big/model"] = FakeRepo(tiny_folder, listed_sizes={UNET_WEIGHTS: 5_000_000_000})  # listed only
    with pytest.raises(HubModelRefused, match=r"needs 5000\.\d MB; this app loads Hub models up to 200 MB") as info:
        load_hub_pipeline("big/model", endpoint=hub.url, cache_dir=tmp_path / "cache")
    assert info.value.reason == "too_large" and info.value.details["megabytes"] > 5000
    assert hub.fetched("unet/config.json")  # the configs were read ...
    assert not hub.fetched(".safetensors") and not hub.fetched(".bin")  # ... the weights never asked for


def test_the_size_cap_is_the_sum_of_the_files(hub, tiny_folder, tmp_path):
    hub.repos["me/tiny"] = FakeRepo(tiny_folder)
    plan = plan_hub_download("me/tiny", endpoint=hub.url, cache_dir=tmp_path / "cache")
    weights = (tiny_folder / UNET_WEIGHTS).stat().st_size
    assert weights < plan.total_bytes < weights + 5_000 and plan.sample_size == 8
    with pytest.raises(HubModelRefused, match="needs"):
        plan_hub_download("me/tiny", endpoint=hub.url, cache_dir=tmp_path / "cache", max_bytes=weights)


@pytest.mark.parametrize(
    ("edits", "reason", "message"),
    [
        ({"model_index.json": {"_class_name": "StableDiffusionPipeline", "vae": ["diffusers", "AutoencoderKL"]}},
         "not_pipeline", "vae: AutoencoderKL"),
        ({"unet/config.json": {"_class_name": "UNet2DConditionModel"}}, "not_pipeline", "not a DDPMPipeline"),
        ({"scheduler/scheduler_config.json": {"_class_name": "LCMScheduler"},
          "model_index.json": {"scheduler": ["diffusers", "LCMScheduler"]}}, "not_pipeline", "LCMScheduler"),
        ({"unet/config.json": {"sample_size": 256}}, "image_too_large", "256-pixel images"),
    ],
)  # fmt: skip
def test_a_repo_that_is_not_a_small_ddpm_pipeline_is_refused(hub, tiny_folder, tmp_path, edits, reason, message):
    hub.repos["other/model"] = FakeRepo(copy_of(tiny_folder, tmp_path, "other", **edits))
    with pytest.raises(HubModelRefused, match=message) as info:
        load_hub_pipeline("other/model", endpoint=hub.url, cache_dir=tmp_path / "cache")
    assert info.value.reason == reason
    assert not hub.fetched(".safetensors")


def test_no_safetensors_missing_configs_and_unknown_repos_are_refused(hub, tiny_folder, tmp_path):
    folder = copy_of(tiny_folder, tmp_path, "pickled")
    (folder / UNET_WEIGHTS).unlink()
    hub.repos["old/pickled"] = FakeRepo(folder)
    with pytest.raises(HubModelRefused, match="only safetensors weights") as info:
        load_hub_pipeline("old/pickled", endpoint=hub.url, cache_dir=tmp_path / "cache")
    assert info.value.reason == "no_safetensors" and not hub.fetched(".bin")
    folder = copy_of(tiny_folder, tmp_path, "no_scheduler")
    (folder / "scheduler" / "scheduler_config.json").unlink()
    hub.repos["half/done"] = FakeRepo(folder)
    with pytest.raises(HubModelRefused, match=r"scheduler_config\.json is missing or unreadable") as info:
        load_hub_pipeline("half/done", endpoint=hub.url, cache_dir=tmp_path / "cache")
    assert info.value.reason == "bad_config" and not hub.fetched(".safetensors")
    with pytest.raises(HubModelRefused, match="not found on the Hub") as info:
        load_hub_pipeline("nobody/nothing", endpoint=hub.url, cache_dir=tmp_path / "cache")
    assert info.value.reason == "not_found"


@pytest.mark.parametrize("bogus", ["/etc/passwd", "../x/y", "tests/fake_hub.py", "a/b/c", "", None, "x" * 300])
def test_a_path_or_malformed_id_is_refused_without_asking(hub, tmp_path, bogus):
    with pytest.raises(HubModelRefused, match="not a Hub model id"):
        load_hub_pipeline(bogus, endpoint=hub.url, cache_dir=tmp_path / "cache")
    assert hub.requests == []


def test_an_unreachable_or_offline_hub_is_not_a_refusal(hub, monkeypatch, tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(HubUnreachable, match="could not reach") as info:
        load_hub_pipeline("me/tiny", endpoint=closed, cache_dir=tmp_path / "cache")
    assert not info.value.offline and not isinstance(info.value, ValueError)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubUnreachable, match="HF_HUB_OFFLINE") as info:
        load_hub_pipeline("me/tiny", endpoint=hub.url, cache_dir=tmp_path / "cache")
    assert info.value.offline and hub.requests == []


def test_the_cache_cap_prunes_the_least_recently_used_repo(hub, tiny_folder, tmp_path):
    cache = tmp_path / "cache"
    for name in ("one", "two", "three"):
        hub.repos[f"me/{name}"] = FakeRepo(tiny_folder)
    one_repo = plan_hub_download("me/one", endpoint=hub.url, cache_dir=tmp_path / "plans").total_bytes
    cap = int(2.5 * one_repo)  # room for two repositories, not three

    def load(name: str) -> set[str]:
        load_hub_pipeline(f"me/{name}", endpoint=hub.url, cache_dir=cache, max_cache_bytes=cap)
        info = scan_cache_dir(cache)
        assert info.size_on_disk <= cap
        return {repo.repo_id for repo in info.repos}

    assert load("one") == {"me/one"}
    assert load("two") == {"me/one", "me/two"}
    assert load("three") == {"me/two", "me/three"}  # "one" was the oldest
    assert load("two") == {"me/two", "me/three"}  # a cache hit: nothing fetched again, "two" is now the newest
    assert [method for method, path in hub.fetched(UNET_WEIGHTS) if path.startswith("/me/two/")] == ["HEAD", "GET"]
    assert load("one") == {"me/two", "me/one"}  # so "three" goes, not "two"
    assert prune_hub_cache(cache, 0, keep="me/one") == ["me/two"]


def test_one_download_at_a_time(tiny_folder, tmp_path):
    with FakeHub(file_delay=0.2) as hub:
        hub.repos["me/one"] = FakeRepo(tiny_folder)
        hub.repos["me/two"] = FakeRepo(tiny_folder)
        errors: list[BaseException] = []

        def load(name: str) -> None:
            try:
                load_hub_pipeline(name, endpoint=hub.url, cache_dir=tmp_path / "cache")
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=load, args=(name,)) for name in ("me/one", "me/two")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == [] and hub.most_files_at_once == 1
    assert [method for method, _ in hub.fetched(UNET_WEIGHTS)].count("GET") == 2


# ----------------------------------------------------------------------------------------------
# The Sampling tab's section C on the same fake Hub: its words for each outcome
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def tab_on_fake_hub(hub, tmp_path, monkeypatch):
    """Section C's handlers with the core pointed at the fake Hub (a fresh in-memory model cache)."""
    import gradio as gr

    from diffusion_core import hub_models
    from ui.sampling_tab import pipeline

    aimed = functools.partial(hub_models.load_hub_pipeline, endpoint=hub.url, cache_dir=tmp_path / "cache")
    monkeypatch.setattr(hub_models, "load_hub_pipeline", aimed)
    monkeypatch.setattr(pipeline, "_hub_cache", {})
    return pipeline, gr


def test_section_c_runs_a_hub_model(tab_on_fake_hub, hub, tiny_folder):
    pipeline, _ = tab_on_fake_hub
    hub.repos["me/tiny"] = FakeRepo(tiny_folder)
    steps = list(pipeline.pipeline_prepare("hub", "me/tiny", "en"))
    assert steps[0][0] == "Checking and downloading “me/tiny” from the Hugging Face Hub (up to 200 MB)…"
    assert len(steps) == 2 and all(update == {"__type__": "update"} for update in steps[1])  # gr.skip(): nothing
    *_, (grid, status, code, _) = pipeline.pipeline_sample("hub", "me/tiny", 2, 3, 0, "en")  # estimate, then result
    assert grid.width > 8 and "3 images, 2 steps" in status and "Using the Hub model `me/tiny`" in status
    assert 'from_pretrained("me/tiny"' in code
    assert [method for method, _ in hub.fetched(UNET_WEIGHTS)] == ["HEAD", "GET"]  # the second call: in memory


@pytest.mark.parametrize(
    ("repo", "lang", "said"),
    [
        ("big/model", "zh", "⚠ “big/model” 需要下载 345.6 MB；本应用只加载不超过 200 MB 的 Hub 模型。"),
        ("big/model", "en", "⚠ “big/model” needs 345.6 MB of downloads; this app loads Hub models up to 200 MB."),
        ("nobody/nothing", "en", "⚠ “nobody/nothing” is not on the Hugging Face Hub, or it is private or gated."),
        ("../etc/passwd", "en", "⚠ “../etc/passwd” is not a Hub model id: write owner/name (local paths are not "
         "accepted)."),
    ],
)  # fmt: skip
def test_section_c_says_why_a_hub_model_is_refused(tab_on_fake_hub, hub, tiny_folder, repo, lang, said):
    pipeline, gr = tab_on_fake_hub
    hub.repos["big/model"] = FakeRepo(tiny_folder, listed_sizes={UNET_WEIGHTS: 345_600_000})
    steps = pipeline.pipeline_prepare("hub", repo, lang)
    if repo != "../etc/passwd":  # a malformed id is refused before "checking and downloading ..."
        assert "Hugging Face Hub" in next(steps)[0]
    assert next(steps) == (said, None)  # the reason in the status, the old grid cleared
    with pytest.raises(gr.Error) as stop:  # then the run stops, without a second (visible) message
        next(steps)
    assert not stop.value.visible
    assert not hub.fetched(".safetensors")
