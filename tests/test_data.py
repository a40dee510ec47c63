"""The bundled MNIST test set: files, md5, shapes, dtypes, labels, ranges."""

import torch

from diffusion_core.data import MNIST_DIR, MNIST_MD5, load_mnist, md5_of, mnist_batch, to_model_range, to_unit_range


def test_bundled_files_have_the_published_md5():
    for name, expected in MNIST_MD5.items():
        assert md5_of(MNIST_DIR / name) == expected, name


def test_images_and_labels_shapes_dtypes_and_ranges():
    x, y = load_mnist()
    assert x.shape == (10000, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (10000,) and y.dtype == torch.int64
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert sorted(y.unique().tolist()) == list(range(10))
    # the published test set starts 7, 2, 1, 0, 4 and has 1,135 ones
    assert y[:5].tolist() == [7, 2, 1, 0, 4]
    assert int((y == 1).sum()) == 1135


def test_mnist_batch_is_reproducible_and_checked():
    a, la = mnist_batch(8, seed=3)
    b, lb = mnist_batch(8, seed=3)
    c, _ = mnist_batch(8, seed=4)
    assert torch.equal(a, b) and torch.equal(la, lb)
    assert not torch.equal(a, c)
    for bad in (0, 10001):
        try:
            mnist_batch(bad)
        except ValueError as error:
            assert "batch size" in str(error)
        else:
            raise AssertionError(f"mnist_batch({bad}) should fail")


def test_range_helpers_are_inverse():
    x = torch.rand(4, 1, 28, 28)
    assert torch.allclose(to_unit_range(to_model_range(x)), x)
    assert float(to_model_range(torch.zeros(1))) == -1.0 and float(to_model_range(torch.ones(1))) == 1.0
