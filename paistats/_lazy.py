"""Lazy attributes of a package (PEP 562): heavy modules (scipy, statsmodels) load on first use."""
from __future__ import annotations

import importlib


def lazy_attributes(package: str, where: dict[str, str]):
    """``(__getattr__, __dir__)`` for ``package`` whose public names live in submodules.

    ``where`` maps a public name to the submodule (relative to ``package``) that defines it; the
    first access imports that submodule and caches the value in the package's namespace.
    """
    module = importlib.import_module(package)

    def __getattr__(name: str):
        if name in where:
            value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
            setattr(module, name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(vars(module)) | set(where))

    return __getattr__, __dir__
