"""Lazy attributes of a package (PEP 562): heavy modules (scipy, statsmodels) load on first use."""
from __future__ import annotations

import importlib
import types


def lazy_attributes(package: str, where: dict[str, str], *, functions: tuple[str, ...] = ()):
    """``(__getattr__, __dir__)`` for ``package`` whose public names live in submodules.

    ``where`` maps a public name to the submodule (relative to ``package``) that defines it; the
    first access imports that submodule and caches the value in the package's namespace.
    ``functions``: public functions named like the submodule that defines them (``zoo_builder.run``
    in ``zoo_builder/run.py``). Importing such a submodule makes the import system bind it to the
    package's attribute of that name; the package then keeps the function instead.
    """
    module = importlib.import_module(package)
    if functions:
        keep = frozenset(functions)

        class _Package(types.ModuleType):
            def __setattr__(self, name, value):
                if name in keep and isinstance(value, types.ModuleType):
                    value = getattr(value, name)
                super().__setattr__(name, value)

        module.__class__ = _Package

    def __getattr__(name: str):
        if name in where:
            value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
            setattr(module, name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(vars(module)) | set(where))

    return __getattr__, __dir__
