"""zoo_builder: train pruned-at-initialization networks and store them as a model zoo.

Library first: ``models``, ``datasets``, ``pruning``, ``variants``, ``training`` and
``run(spec)``, which runs one :class:`RunSpec` end to end and returns every tensor.

``import zoo_builder`` imports no torch: ``run``, ``RunResult`` and ``RunSpec`` load their modules
on first access (PEP 562), so that ``python -m zoo_builder --help`` starts at once.
"""
from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"
__all__ = ["RunResult", "RunSpec", "run", "__version__"]

_WHERE = {"RunResult": "run", "run": "run", "RunSpec": "spec"}


class _Package(types.ModuleType):
    """The package module: ``zoo_builder.run`` stays the function even once the submodule
    ``zoo_builder.run`` is imported (the import system then binds the submodule to this name)."""

    def __setattr__(self, name, value):
        if name == "run" and isinstance(value, types.ModuleType):
            value = value.run
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'zoo_builder' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"zoo_builder.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
