"""Test-only hooks of the builder: make chosen runs fail so the failure path runs end to end.

Nothing here is part of a build's configuration. The builder CLI reads one environment
variable, :data:`FAIL_ENV` (``ZOO_BUILDER_FAIL_SPEC``), and library callers pass predicates to
``zoo_builder.executor.build(..., inject_failure=...)``; matching runs raise
``TrainingDiverged("injected failure ...")`` in the worker, before training, and are recorded
like any other failed run.

A predicate is a 16-hex :attr:`RunSpec.hash` or a tuple of ``(field, value)`` pairs of
``RunSpec`` fields, e.g. ``(("method", "snip"), ("variant", "invert"))``.
"""
from __future__ import annotations

import os

from zoo_builder.config import ConfigError
from zoo_builder.registry import unknown_choice_message

FAIL_ENV = "ZOO_BUILDER_FAIL_SPEC"
SPEC_FIELDS = ("arch", "dataset", "method", "variant", "sparsity", "seed", "per_class", "iterations")
INJECTED = "injected failure (test hook ZOO_BUILDER_FAIL_SPEC / inject_failure)"


def parse_fail_spec(value: str | None) -> tuple:
    """Parse a ``ZOO_BUILDER_FAIL_SPEC`` value into injection predicates.

    Alternatives are separated by ``;``; each is a spec hash or comma-separated ``field=value``
    pairs, e.g. ``method=snip,variant=invert;0123456789abcdef``.

    Raises
    ------
    ConfigError
        For a field that is not a ``RunSpec`` field (the CLI turns it into exit code 2).
    """
    if not value:
        return ()
    out = []
    for alt in value.split(";"):
        alt = alt.strip()
        if not alt:
            continue
        if "=" not in alt:
            out.append(alt)
            continue
        pairs = []
        for kv in alt.split(","):
            k, _, v = kv.partition("=")
            k, v = k.strip(), v.strip()
            if k not in SPEC_FIELDS:
                raise ConfigError(f"{FAIL_ENV}: " + unknown_choice_message("run-spec field", k, list(SPEC_FIELDS))
                                  + f" (unset {FAIL_ENV} for a real build)")
            pairs.append((k, v))
        out.append(tuple(sorted(pairs)))
    return tuple(out)


def failures_from_env() -> tuple:
    """The predicates of ``$ZOO_BUILDER_FAIL_SPEC`` (empty when it is not set)."""
    return parse_fail_spec(os.environ.get(FAIL_ENV))


def matches(spec, predicates) -> bool:
    """Whether ``spec`` matches one of ``predicates`` (its hash, or every listed field value)."""
    for p in predicates:
        if isinstance(p, str):
            if p == spec.hash:
                return True
        elif all(str(getattr(spec, k)) == str(v) or _num_eq(getattr(spec, k), v) for k, v in p):
            return True
    return False


def _num_eq(a, b) -> bool:
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False
