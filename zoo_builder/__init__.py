"""zoo_builder: train pruned-at-initialization networks and store them as a model zoo.

Library first: ``models``, ``datasets``, ``pruning``, ``variants``, ``training`` and
``run(spec)``, which runs one :class:`RunSpec` end to end and returns every tensor.

``import zoo_builder`` imports no torch: ``run``, ``RunResult`` and ``RunSpec`` load their modules
on first access (PEP 562), so that ``python -m zoo_builder --help`` starts at once.
"""
from __future__ import annotations

from paistats._lazy import lazy_attributes

__version__ = "0.1.0"
__all__ = ["RunResult", "RunSpec", "run", "__version__"]

_WHERE = {"RunResult": "run", "run": "run", "RunSpec": "spec"}


# ``zoo_builder.run`` stays the function even once its submodule ``zoo_builder/run.py`` is imported
__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, functions=("run",))
