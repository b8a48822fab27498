"""Renamed public names that keep working for one release, with a :class:`FutureWarning`.

``FutureWarning`` (not ``DeprecationWarning``) because the callers are users' scripts and
notebooks, where Python shows it by default.
"""
from __future__ import annotations

import functools
import warnings
from typing import Callable


def warn_renamed(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is now called ``new`` and stops working in the next release.

    Parameters
    ----------
    old, new : str
        The old and the new spelling, as a user writes them (``"ols(cluster=)"``).
    stacklevel : int
        Passed to :func:`warnings.warn` (3: the caller of the function that warns).
    """
    warnings.warn(f"{old} is renamed {new}; {old} stops working in the next release", FutureWarning,
                  stacklevel=stacklevel)


def renamed_keywords(**renames: str) -> Callable:
    """Decorator: accept the old keyword names ``renames`` (old -> new) with a :class:`FutureWarning`.

    Parameters
    ----------
    **renames : str
        Old keyword -> new keyword of the decorated function.

    Returns
    -------
    callable
        The decorator. Passing both the old and the new name raises :class:`TypeError`.
    """
    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for old, new in renames.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}() got both {old}= (old name) and {new}=; pass {new}= only")
                    warn_renamed(f"{fn.__name__}({old}=)", f"{fn.__name__}({new}=)")
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)
        return wrapper
    return decorate


def renamed_function(fn: Callable, old: str, module: str) -> Callable:
    """``fn`` under its old name ``old``: same behaviour, a :class:`FutureWarning` on each call.

    Parameters
    ----------
    fn : callable
        The function under its new name.
    old : str
        The old name.
    module : str
        The public module both names live in (``"paistats.inference"``), for the message.

    Returns
    -------
    callable
        The alias; its docstring points to ``fn``.
    """
    @functools.wraps(fn)
    def alias(*args, **kwargs):
        warn_renamed(f"{module}.{old}", f"{module}.{fn.__name__}")
        return fn(*args, **kwargs)
    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = (f"Deprecated alias of :func:`{module}.{fn.__name__}` (same parameters and result).\n\n"
                     f"Renamed: ``{old}`` stops working in the next release.\n\n" + (fn.__doc__ or ""))
    return alias
