"""Tests for the measured quality: the feature classifier, the Fréchet distance and the metrics, the curves
file and quality vs steps, and the comparison lab (``diffusion_core.classifier``, ``metrics``,
``quality_curves``, ``comparison_lab``)."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
from tiny import TINY_UNET

from diffusion_core import classifier as feature_classifier
from diffusion_core import comparison_lab, metrics, quality_curves, sampling
from diffusion_core.data import ASSETS_DIR, load_mnist

TINY_CLASSIFIER_TRAIN = feature_classifier.ClassifierTrainConfig(
    epochs=1, batch_size=128, lr=3e-3, max_train_images=2560
)  # 20 steps


@pytest.fixture(scope="module")
def noise_features() -> torch.Tensor:
    noise = torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    return metrics.classify(noise).features


def test_bundled_classifier_meets_the_accuracy_bar_on_held_out_digits():
    classifier = feature_classifier.load_classifier()
    config = feature_classifier.ClassifierTrainConfig()
    _, heldout = feature_classifier.classifier_split(config)
    images, labels = load_mnist()
    assert len(heldout) == config.holdout
    assert feature_classifier.classifier_accuracy(classifier, images[heldout], labels[heldout]) >= 0.97


def test_training_log_ships_with_the_classifier():
    log = json.loads((feature_classifier.CLASSIFIER_DIR / feature_classifier.CLASSIFIER_LOG).read_text())
    assert log["heldout_accuracy"] >= 0.97
    assert log["epochs"] and log["epochs"][-1]["heldout_accuracy"] == log["heldout_accuracy"]


def test_confidence_on_real_digits_is_high_and_low_on_noise():
    real, _ = metrics.real_digits(500, seed=2)
    probs = metrics.classify(real).probs
    assert metrics.mean_confidence(probs) >= 0.95
    noise = torch.rand(200, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert metrics.mean_confidence(metrics.classify(noise).probs) < 0.5


def test_fd_of_real_vs_real_is_near_zero_at_large_n_and_large_for_noise(noise_features):
    reference = metrics.reference_features()
    real_large = metrics.classify(metrics.real_digits(5000)[0]).features
    real_small = metrics.classify(metrics.real_digits(100)[0]).features
    fd_real_large = metrics.frechet_distance(real_large, reference)
    fd_real_small = metrics.frechet_distance(real_small, reference)
    fd_noise = metrics.frechet_distance(noise_features, reference)
    assert fd_real_large < 0.005 * fd_noise
    assert fd_real_large < fd_real_small  # the small-n bias the floor accounts for
    assert fd_noise > 20 * fd_real_small


def test_fd_of_a_set_with_itself_is_zero_and_fd_is_symmetric(noise_features):
    reference = metrics.reference_features()[:500]
    assert metrics.frechet_distance(reference, reference) == pytest.approx(0.0, abs=1e-6)
    forward = metrics.frechet_distance(reference, noise_features)
    assert metrics.frechet_distance(noise_features, reference) == pytest.approx(forward, rel=1e-6)


def test_fd_matches_the_textbook_formula_with_scipy_sqrtm():
    linalg = pytest.importorskip("scipy.linalg")
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(300, 6, generator=generator, dtype=torch.float64)
    b = torch.randn(400, 6, generator=generator, dtype=torch.float64) @ torch.randn(6, 6, generator=generator).double()
    b = b + 0.5
    mu_a, mu_b = a.mean(0).numpy(), b.mean(0).numpy()
    cov_a, cov_b = torch.cov(a.T).numpy(), torch.cov(b.T).numpy()
    root = linalg.sqrtm(cov_a @ cov_b).real
    expected = ((mu_a - mu_b) ** 2).sum() + cov_a.trace() + cov_b.trace() - 2 * root.trace()
    assert metrics.frechet_distance(a, b) == pytest.approx(float(expected), rel=1e-6)


def test_measure_reports_the_floor_at_the_same_n():
    real, _ = metrics.real_digits(64, seed=5)
    report = metrics.measure(real)
    assert report.n == 64
    assert report.fd_floor == pytest.approx(metrics.real_floor(64))
    assert report.fd < 3 * report.fd_floor  # real digits score near the floor
    assert sum(report.class_counts) == 64


def test_class_balance_is_one_for_even_classes_and_zero_for_one_class():
    even = torch.eye(10).repeat(7, 1)
    assert metrics.class_balance(even) == pytest.approx(1.0)
    one = torch.zeros(50, 10)
    one[:, 3] = 1
    assert metrics.class_balance(one) == 0.0
    two = torch.zeros(50, 10)
    two[:25, 1] = 1
    two[25:, 2] = 1
    assert metrics.class_balance(two) == pytest.approx(math.log(2) / math.log(10))


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        metrics.classify(torch.zeros(4, 3, 28, 28))
    with pytest.raises(ValueError, match="NaN"):
        metrics.classify(torch.full((4, 1, 28, 28), float("nan")))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.classify(torch.zeros(1, 1, 28, 28))
    with pytest.raises(ValueError, match="feature sets"):
        metrics.frechet_distance(torch.zeros(5, 3), torch.zeros(5, 4))
    with pytest.raises(ValueError, match="between 2"):
        metrics.real_digits(1)
    with pytest.raises(ValueError, match="no feature classifier"):
        feature_classifier.load_classifier(ASSETS_DIR / "mnist")


def test_train_classifier_yields_one_record_per_step_and_learns():
    torch.manual_seed(0)
    model = feature_classifier.DigitClassifier()
    config = TINY_CLASSIFIER_TRAIN
    records = list(feature_classifier.train_classifier(model, config))
    train_index, heldout = feature_classifier.classifier_split(config)
    train_index = train_index[: config.max_train_images]
    assert len(records) == config.epochs * math.ceil(len(train_index) / config.batch_size)
    assert [r.step for r in records] == list(range(1, len(records) + 1))
    assert records[-1].images_seen == len(train_index)
    images, labels = load_mnist()
    assert feature_classifier.classifier_accuracy(model, images[heldout[:1000]], labels[heldout[:1000]]) > 0.5


def test_quality_vs_steps_scores_each_point_with_the_given_sampler():
    real, _ = metrics.real_digits(64, seed=9)
    calls = []

    def sample_fn(sampler: str, steps: int, n: int, seed: int) -> torch.Tensor:
        calls.append((sampler, steps, n, seed))
        return real[:n] * 2 - 1  # "samples" in [-1, 1]: real digits, so the FD sits near the floor

    points = list(
        quality_curves.quality_vs_steps(sample_fn, ["ddim", "euler"], [2, 4], n=64, seed=3, extra=[("ddpm", 1000)])
    )
    assert calls == [
        ("ddim", 2, 64, 3),
        ("ddim", 4, 64, 3),
        ("euler", 2, 64, 3),
        ("euler", 4, 64, 3),
        ("ddpm", 1000, 64, 3),
    ]
    assert all(p.confidence >= 0.95 and p.fd < 3 * p.fd_floor for p in points)
    with pytest.raises(ValueError, match="unknown sampler"):
        list(quality_curves.quality_vs_steps(sample_fn, ["heun"], [2], n=8))


def test_bundled_curves_file_matches_its_schema():
    if not quality_curves.CURVES_PATH.is_file():
        pytest.fail("assets/quality_curves.json is missing: run `python -m diffusion_core eval`")
    data = quality_curves.load_curves()
    samplers = quality_curves.curves_by_sampler(data)
    assert set(samplers) <= set(sampling.SAMPLERS) and len(samplers) >= 3
    assert data["floor"]["n"] == data["n"]
    for points in samplers.values():
        steps = [p["steps"] for p in points]
        assert steps == sorted(steps)


def test_validate_curves_rejects_broken_files():
    good = {
        "schema_version": 1,
        "created": "2026-01-01T00:00:00+00:00",
        "machine": "test",
        "model": "assets/checkpoints/ddpm_mnist",
        "classifier": "assets/classifier",
        "n": 8,
        "seed": 0,
        "reference_size": 5000,
        "floor": {"n": 8, "fd": 100.0},
        "real": {"confidence": 0.98, "class_balance": 0.9},
        "points": [
            {
                "sampler": "ddim",
                "steps": 5,
                "n": 8,
                "fd": 300.0,
                "fd_floor": 100.0,
                "confidence": 0.7,
                "class_balance": 0.8,
                "seconds": 1.5,
            }
        ],
        "notes": [],
    }
    assert quality_curves.validate_curves(copy.deepcopy(good)) == good
    broken = [
        ("points", []),
        ("n", "8"),
        ("schema_version", 2),
        ("floor", {"n": 8}),
    ]
    for key, value in broken:
        data = copy.deepcopy(good)
        data[key] = value
        with pytest.raises(ValueError):
            quality_curves.validate_curves(data)
    for key, value in [("sampler", "heun"), ("confidence", 1.5), ("fd", float("nan")), ("steps", 0)]:
        data = copy.deepcopy(good)
        data["points"][0][key] = value
        with pytest.raises(ValueError):
            quality_curves.validate_curves(data)


# ----------------------------------------------------------------------------------------------
# The comparison lab, on a tiny UNet2DModel (28x28, few channels) so it runs fast on a CPU
# ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_ddpm():
    from diffusers import DDPMScheduler

    from diffusion_core.models import build_unet2d

    torch.manual_seed(0)
    unet = build_unet2d(**{**TINY_UNET, "sample_size": 28}).eval()
    return unet, DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")


def test_compare_objectives_matches_the_noise_levels_by_snr(tiny_ddpm):
    from diffusion_core.models import BasicUNet

    unet, scheduler = tiny_ddpm
    x0, _ = metrics.real_digits(4, seed=0)
    basic = BasicUNet().eval()
    for t in (0, 500, 999):
        result = comparison_lab.compare_objectives(basic, unet, scheduler, x0, t, torch.Generator().manual_seed(0))
        alpha_bar = float(scheduler.alphas_cumprod[t])
        snr = alpha_bar / (1 - alpha_bar)
        assert result.snr == pytest.approx(snr, rel=1e-6)
        # equal signal-to-noise ratios on the [0, 1] scale: (1 - a) / (a / sqrt(12)) == sqrt(a_bar) / (sqrt(1 - a_bar) / 2)
        a = result.amount
        assert (1 - a) / (a / math.sqrt(12)) == pytest.approx(math.sqrt(alpha_bar) / (math.sqrt(1 - alpha_bar) / 2))
        assert result.mse_basic.shape == result.mse_ddpm.shape == (4,)
        assert torch.equal(result.x0, x0)
    assert comparison_lab.compare_objectives(basic, unet, scheduler, x0, 0).amount < 0.02  # t = 0: almost no noise
    with pytest.raises(ValueError, match="t must be"):
        comparison_lab.compare_objectives(basic, unet, scheduler, x0, 1000)


def test_loss_per_timestep_reads_the_noise_error_as_an_snr_weighted_x0_error(tiny_ddpm):
    unet, scheduler = tiny_ddpm
    x0, _ = metrics.real_digits(4, seed=0)
    records = list(
        comparison_lab.loss_per_timestep(unet, scheduler, x0, [10, 300, 700], torch.Generator().manual_seed(0))
    )
    assert [r.t for r in records] == [10, 300, 700]
    for record in records:
        assert record.x0_mse == pytest.approx(record.noise_mse / record.snr, rel=1e-3)
    with pytest.raises(ValueError, match="timesteps"):
        list(comparison_lab.loss_per_timestep(unet, scheduler, x0, [1000]))


def test_generate_samples_with_the_forward_the_app_picks_unless_told(tiny_ddpm, monkeypatch):
    """On the CPU with onnxruntime installed that is ONNX Runtime (~2x eager): the same digits to float rounding."""
    from diffusion_core import cpu_speed, onnx_unet

    monkeypatch.delenv(cpu_speed.ENV_OVERRIDE, raising=False)
    unet, scheduler = tiny_ddpm
    picked = comparison_lab.generate(unet, scheduler, "ddim", 3, 6, seed=2)  # DDIM clips: an untrained net stays small
    on = {runtime: comparison_lab.generate(unet, scheduler, "ddim", 3, 6, seed=2, runtime=runtime)
          for runtime in onnx_unet.RUNTIMES if runtime == "torch" or onnx_unet.available()}  # fmt: skip
    assert torch.equal(picked, on[cpu_speed.sampling_forward("cpu")["runtime"]])
    assert all((samples - on["torch"]).abs().max() < 1e-3 for samples in on.values())


def test_generate_chunks_large_batches_and_failure_modes_change_one_thing(tiny_ddpm):
    from diffusion_core import sampling

    unet, scheduler = tiny_ddpm
    n = sampling.MAX_BATCH + 3
    samples = comparison_lab.generate(unet, scheduler, "ddim", 1, n, seed=0)
    assert samples.shape == (n, 1, 28, 28)
    assert torch.equal(samples, comparison_lab.generate(unet, scheduler, "ddim", 1, n, seed=0))  # reproducible
    correct = comparison_lab.failure_samples("correct", unet, scheduler, n=4, steps=2, seed=1)
    rand = comparison_lab.failure_samples("rand", unet, scheduler, n=4, steps=2, seed=1)
    unscaled = comparison_lab.failure_samples("no_scaling", unet, scheduler, n=4, steps=2, seed=1)
    assert not torch.equal(correct.images, rand.images)
    assert torch.equal(unscaled.raw, correct.raw)  # the same samples ...
    assert torch.equal(correct.images, (correct.raw * 0.5 + 0.5).clamp(0, 1))
    assert torch.equal(unscaled.images, correct.raw.clamp(0, 1))  # ... shown without x * 0.5 + 0.5
    assert 0 <= correct.confidence <= 1 and 0 <= correct.class_balance <= 1
    with pytest.raises(ValueError, match="early checkpoint"):
        comparison_lab.failure_samples("undertrained", unet, scheduler, n=4, steps=2)
    with pytest.raises(ValueError, match="unknown failure mode"):
        comparison_lab.failure_samples("typo", unet, scheduler)


def test_generate_with_a_cache_resumes_and_reuses_chunks_giving_the_same_images(tiny_ddpm, tmp_path):
    """A stopped evaluation resumes at its first missing chunk, and a smaller n reads back a larger run's first chunks:
    always the images an uncached call gives (DDPM draws noise every step, so the generator's state must follow)."""
    from diffusion_core import sampling
    from diffusion_core.sample_cache import SampleCache

    unet, scheduler = tiny_ddpm
    n = 2 * sampling.MAX_BATCH + 3
    plain = comparison_lab.generate(unet, scheduler, "ddpm", 2, n, seed=3)
    cache = SampleCache(tmp_path)

    def cached_run(count: int, model=unet, steps: int = 2) -> tuple[torch.Tensor, list]:
        seen = []
        samples = comparison_lab.generate(model, scheduler, "ddpm", steps, count, seed=3, cache=cache,
                                          on_chunk=seen.append)  # fmt: skip
        return samples, seen

    first, seen = cached_run(n)
    assert torch.equal(first, plain)
    assert [(c.index, c.chunks, c.images_done, c.n, c.cached) for c in seen] == [
        (0, 3, 256, n, False), (1, 3, 512, n, False), (2, 3, n, n, False)]  # fmt: skip
    files = sorted(tmp_path.glob("*/chunk_*.safetensors"))
    assert [f.name for f in files] == ["chunk_00000_256.safetensors", "chunk_00001_256.safetensors",
                                       "chunk_00002_3.safetensors"]  # fmt: skip
    assert json.loads((files[0].parent / "settings.json").read_text())["sampler"] == "ddpm"

    again, seen = cached_run(n)  # everything read back, with the seconds it took to sample
    assert torch.equal(again, plain) and all(c.cached for c in seen)
    assert [c.seconds for c in seen] == [c.seconds for c in cached_run(n)[1]] and seen[0].seconds > 0

    files[2].unlink()  # stopped before the last chunk, and the middle one broken by a kill mid-write
    files[1].write_bytes(b"not a safetensors file")
    resumed, seen = cached_run(n)
    assert torch.equal(resumed, plain) and [c.cached for c in seen] == [True, False, False]

    prefix, seen = cached_run(2 * sampling.MAX_BATCH)  # the curves' n = 512 point inside the bar's n = 1000
    assert torch.equal(prefix, plain[: 2 * sampling.MAX_BATCH]) and all(c.cached for c in seen)

    changed = copy.deepcopy(unet)
    with torch.no_grad():
        next(changed.parameters()).add_(0.01)
    assert not any(c.cached for c in cached_run(4, model=changed)[1])  # other weights: another key
    assert not any(c.cached for c in cached_run(4, steps=3)[1])  # other steps: another key
    assert len(list(tmp_path.iterdir())) == 3
    with pytest.raises(ValueError, match="is a file, not a folder"):
        SampleCache(files[0])
