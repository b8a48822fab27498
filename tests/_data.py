"""Shared data fixtures (imported by the test modules that need real MNIST)."""
import pytest

from zoo_builder import datasets


@pytest.fixture(scope="session")
def mnist_root():
    """The default data root, with real MNIST present (torchvision download, else npm offline source)."""
    root = datasets.data_root()
    datasets.load("mnist", train=False, root=root)
    return root
