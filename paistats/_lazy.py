"""Lazy attributes of a package (PEP 562): heavy modules (scipy, statsmodels, torch) load on first use.

The one lazy-import mechanism of the project: ``paistats``, ``paistats.inference``,
``paistats.regress``, ``paistats.hub``, ``paistats.plot``, ``zoo_builder`` and
``zoo_builder.training`` each call :func:`lazy_attributes` once and bind its two functions as the
package's ``__getattr__`` and ``__dir__``.
"""
from __future__ import annotations

import importlib
import types
from typing import Callable


def lazy_attributes(package: str, where: dict[str, str], *, functions: tuple[str, ...] = (),
                    modules: tuple[str, ...] = ()) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` whose public names live in submodules.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : dict of str to str
        Public name -> submodule (relative to ``package``) that defines it; the first access
        imports that submodule and caches the value in the package's namespace.
    functions : tuple of str
        Public functions named like the submodule that defines them (``zoo_builder.run`` in
        ``zoo_builder/run.py``). Importing such a submodule makes the import system bind it to the
        package's attribute of that name; the package then keeps the function instead.
    modules : tuple of str
        Submodules reachable as attributes without an import statement (``paistats.inference``,
        ``paistats.plot.theme``): the first access imports them.

    Returns
    -------
    __getattr__ : callable
        ``name -> value``; raises :class:`AttributeError` for any other name.
    __dir__ : callable
        The package's names, the lazy ones included.
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
    submodules = frozenset(modules)

    def __getattr__(name: str):
        if name in where:
            value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        elif name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(module, name, value)
        return value

    def __dir__():
        return sorted(set(vars(module)) | set(where) | submodules)

    return __getattr__, __dir__
