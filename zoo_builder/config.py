"""Build configurations: the grid of runs a zoo holds, as data (preset, TOML or YAML file).

A configuration is a mapping with these top-level keys::

    name: mini                        # optional, shown in the plan
    description: "..."                # optional
    grids:                            # required: one or more grids, their runs are unioned
      - arch: lenet300                # one architecture or a list of them
        dataset: mnist                # optional: the architecture's default dataset
        recipe: lenet_mnist_cpu       # a registered recipe, or {base: NAME, <field>: value, ...}
        methods: all                  # "all" or a list of pruning methods
        variants: all                 # "all" or a list of {original, shuffle, reinit, invert}
        sparsities: [0.5, 0.75, 0.9, 0.98]   # a list, or {density_base: 0.8, k: [1, 20]}
        seeds: 3                      # n (seeds 0..n-1) or an explicit list
        dense: true                   # add one dense baseline (sparsity 0, variant original) per method
        per_class: 10                 # scoring examples per class (data-dependent methods)
        iterations: {synflow: 100}    # pruning rounds: an int, or per-method overrides

Every preset of :mod:`zoo_builder.presets` is such a mapping, so a file can describe any grid a
preset does. Validation happens here, at the boundary: an unknown key, a bad value or a grid
without runs raises :class:`ConfigError` with a one-line message that names the key, the value
and the valid choices.

Test-only failure injection is not part of a configuration: see :mod:`zoo_builder.testing`.
"""
from __future__ import annotations


import json
import math
import os
from dataclasses import dataclass, field, fields as dataclass_fields
from pathlib import Path
from typing import Any

from zoo_builder.registry import unknown_choice_message

TOP_KEYS = ("name", "description", "grids")
GRID_KEYS = ("arch", "dataset", "recipe", "methods", "variants", "sparsities", "seeds", "dense",
             "per_class", "iterations")
GRID_REQUIRED = ("arch", "recipe", "sparsities")
# one rounding rule for sparsity labels (paistats.store.grid): keeps hashes and labels stable
from paistats.store.grid import SPARSITY_DECIMALS  # noqa: E402


class ConfigError(ValueError):
    """An invalid build configuration (the CLI turns it into exit code 2)."""


@dataclass(frozen=True)
class Grid:
    """One validated grid: the Cartesian product of its fields (plus dense baselines)."""

    arch: tuple[str, ...]
    dataset: str | None
    recipe: Any  # zoo_builder.training.Recipe
    methods: tuple[str, ...]
    variants: tuple[str, ...]
    sparsities: tuple[float, ...]
    seeds: tuple[int, ...]
    dense: bool = True
    per_class: int = 10
    iterations: dict = field(default_factory=dict)  # method -> rounds (missing = method default)


@dataclass(frozen=True)
class BuildConfig:
    """A validated configuration: what to build (the executor options live elsewhere)."""

    name: str
    description: str
    grids: tuple[Grid, ...]
    source: str = "<dict>"


# ----------------------------------------------------------------------------- loading

_FORMATS = {".toml": "TOML", ".yaml": "YAML", ".yml": "YAML", ".json": "JSON"}


def load_file(path: str | os.PathLike) -> dict:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file into a mapping.

    Raises :class:`ConfigError` if the file is missing, has another extension or does not parse.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in _FORMATS:
        raise ConfigError(f"config file {str(p)!r} must end in .toml, .yaml, .yml or .json; "
                          "rename it or give a grid file in one of those formats")
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {str(p)!r} does not exist; check the path "
                          "(`python -m zoo_builder presets --show mini` prints an example)") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {str(p)!r}: {e.strerror or e}; check the path and its "
                          "permissions") from None
    try:
        if suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as e:  # noqa: BLE001 - any parser error becomes one clear line
        msg = " ".join(str(e).split())
        raise ConfigError(f"config file {str(p)!r} does not parse: {msg}; fix the {_FORMATS[suffix]} "
                          "syntax there") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(p)!r} must hold a mapping with a 'grids' list, "
                          f"got {type(data).__name__}; see docs/cli.md for the schema")
    return data


def load(path: str | os.PathLike) -> BuildConfig:
    """Load and validate a configuration file."""
    return parse(load_file(path), source=str(path))


# ----------------------------------------------------------------------------- validation

def _err(where: str, msg: str) -> ConfigError:
    return ConfigError(f"{where}: {msg}" if where else msg)


def _check_keys(d: dict, allowed: tuple[str, ...], where: str, kind: str) -> None:
    for k in d:
        if k not in allowed:
            raise _err(where, unknown_choice_message(kind, k, list(allowed)))


def _names(value, where: str, registry_names: list[str], kind: str, *, allow_all: bool) -> tuple[str, ...]:
    if allow_all and value == "all":
        return tuple(registry_names)
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        prefix = '"all" or ' if allow_all else ""
        raise _err(where, f"expected {prefix}a name or a non-empty list of {kind} names, got {value!r}")
    out = []
    for v in items:
        if v not in registry_names:
            raise _err(where, unknown_choice_message(kind, v, registry_names))
        if v in out:
            raise _err(where, f"{kind} {v!r} is listed twice")
        out.append(v)
    return tuple(out)


def _int(value, where: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _err(where, f"expected an integer ≥ {minimum}, got {value!r}")
    return value


def _sparsities(value, where: str) -> tuple[float, ...]:
    if isinstance(value, dict):
        _check_keys(value, ("density_base", "k"), where, "sparsity-schedule key")
        if set(value) != {"density_base", "k"}:
            raise _err(where, "a sparsity schedule needs both 'density_base' and 'k' "
                              "(e.g. {density_base: 0.8, k: [1, 20]} for densities 0.8^1 … 0.8^20)")
        base = value["density_base"]
        if isinstance(base, bool) or not isinstance(base, (int, float)) or not 0 < base < 1:
            raise _err(f"{where}.density_base", f"expected a number in (0, 1), got {base!r}")
        k = value["k"]
        if (not isinstance(k, list) or len(k) != 2
                or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in k)
                or k[0] > k[1]):
            raise _err(f"{where}.k", f"expected [first, last] non-negative integers, first ≤ last, got {k!r}")
        values = [1.0 - base ** i for i in range(k[0], k[1] + 1)]
    elif isinstance(value, list) and value:
        values = value
    else:
        raise _err(where, f"expected a non-empty list of sparsities in [0, 1) or "
                          f"{{density_base: B, k: [first, last]}}, got {value!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or math.isnan(v) or not 0 <= v < 1:
            raise _err(where, f"sparsity must be a number in [0, 1) (fraction of weights removed), got {v!r}")
        s = round(float(v), SPARSITY_DECIMALS)
        if s in out:
            raise _err(where, f"sparsity {v!r} is listed twice")
        out.append(s)
    return tuple(out)


def _seeds(value, where: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        return tuple(range(_int(value, where, minimum=1)))
    if isinstance(value, list) and value:
        out = []
        for s in value:
            s = _int(s, where, minimum=0)
            if s in out:
                raise _err(where, f"seed {s} is listed twice")
            out.append(s)
        return tuple(out)
    raise _err(where, f"expected a number of seeds n ≥ 1 (seeds 0..n-1) or a non-empty list of "
                      f"non-negative integers, got {value!r}")


def _recipe(value, where: str):
    from zoo_builder.training import RECIPES, get_recipe

    if isinstance(value, str):
        if value not in RECIPES:
            raise _err(where, unknown_choice_message("recipe", value, RECIPES.names()))
        return get_recipe(value)
    if isinstance(value, dict):
        if "base" not in value:
            raise _err(where, "a recipe mapping needs 'base' (a registered recipe) plus the fields "
                              "to change, e.g. {base: lenet_mnist_cpu, epochs: 2}")
        base = _recipe(value["base"], f"{where}.base")
        changes = {k: v for k, v in value.items() if k != "base"}
        if "milestones" in changes and isinstance(changes["milestones"], list):
            changes["milestones"] = tuple(changes["milestones"])
        fields = [f.name for f in dataclass_fields(base)]
        for k in changes:
            if k not in fields:
                raise _err(where, unknown_choice_message("recipe field", k, fields))
        try:
            return base.with_(**changes)
        except (TypeError, ValueError) as e:
            raise _err(where, str(e)) from None
    raise _err(where, f"expected a recipe name or a mapping {{base: NAME, field: value}}, got {value!r}")


def _iterations(value, where: str, methods: tuple[str, ...]) -> dict:
    if value is None:
        return {}
    if isinstance(value, int) and not isinstance(value, bool):
        from zoo_builder.pruning import method as get_method

        n = _int(value, where, minimum=1)
        return {m: n for m in methods if get_method(m).iterations > 1}  # one-shot methods stay one-shot
    if isinstance(value, dict):
        from zoo_builder.pruning import check_iterations, names as method_names

        out = {}
        for m, n in value.items():
            if m not in method_names():
                raise _err(where, unknown_choice_message("pruning method", m, method_names()))
            out[m] = _int(n, f"{where}.{m}", minimum=1)
            try:
                check_iterations(m, out[m])
            except ValueError as e:
                raise _err(f"{where}.{m}", str(e)) from None
        return out
    raise _err(where, f"expected an integer ≥ 1 or a mapping method → rounds, got {value!r}")


def _check_compatible(arch: str, dataset: str, where: str) -> None:
    """Build the network on the meta device and push one meta input through it."""
    import torch

    from zoo_builder.datasets import info
    from zoo_builder.models import ARCHITECTURES

    ds = info(dataset)
    try:
        with torch.device("meta"):
            model = ARCHITECTURES.get(arch).factory(tuple(ds.input_shape), ds.num_classes)
            out = model(torch.zeros((2, *ds.input_shape)))
        ok = tuple(out.shape) == (2, ds.num_classes)
    except Exception:  # noqa: BLE001 - any shape error means "incompatible"
        ok = False
    if not ok:
        raise _err(where, f"architecture {arch!r} cannot take dataset {dataset!r} "
                          f"(input shape {tuple(ds.input_shape)}, {ds.num_classes} classes)")


def parse_grid(d: Any, where: str = "grid") -> Grid:
    """Validate one grid mapping."""
    from zoo_builder.datasets import names as dataset_names
    from zoo_builder.models import ARCHITECTURES
    from zoo_builder.pruning import names as method_names
    from zoo_builder import variants as variant_registry

    if not isinstance(d, dict):
        raise _err(where, f"expected a mapping with keys {', '.join(GRID_REQUIRED)}, got {d!r}")
    _check_keys(d, GRID_KEYS, where, "grid key")
    for k in GRID_REQUIRED:
        if k not in d:
            raise _err(where, f"missing required key {k!r} (required: {', '.join(GRID_REQUIRED)})")
    archs = _names(d["arch"], f"{where}.arch", ARCHITECTURES.names(), "architecture", allow_all=False)
    dataset = d.get("dataset")
    if dataset is not None and dataset not in dataset_names():
        raise _err(f"{where}.dataset", unknown_choice_message("dataset", dataset, dataset_names()))
    for a in archs:
        _check_compatible(a, dataset or ARCHITECTURES.get(a).default_dataset, where)
    methods = _names(d.get("methods", "all"), f"{where}.methods", method_names(), "pruning method",
                     allow_all=True)
    chosen = d.get("variants", "all")  # "all": FDRC21's four; invert_* variants are named explicitly
    variants = _names(list(variant_registry.VARIANTS) if chosen == "all" else chosen, f"{where}.variants",
                      variant_registry.names(), "variant",
                      allow_all=True)
    dense = d.get("dense", True)
    if not isinstance(dense, bool):
        raise _err(f"{where}.dense", f"expected true or false, got {dense!r}")
    sparsities = _sparsities(d["sparsities"], f"{where}.sparsities")
    if dense and 0.0 in sparsities:
        # sparsity 0 is the dense baseline: train it once per method (variant original), not per variant
        sparsities = tuple(s for s in sparsities if s != 0.0)
    return Grid(
        arch=archs,
        dataset=dataset,
        recipe=_recipe(d["recipe"], f"{where}.recipe"),
        methods=methods,
        variants=variants,
        sparsities=sparsities,
        seeds=_seeds(d.get("seeds", 1), f"{where}.seeds"),
        dense=dense,
        per_class=_int(d.get("per_class", 10), f"{where}.per_class", minimum=1),
        iterations=_iterations(d.get("iterations"), f"{where}.iterations", methods),
    )


def parse(d: Any, *, source: str = "<dict>") -> BuildConfig:
    """Validate a configuration mapping (see the module docstring for the schema).

    Raises
    ------
    ConfigError
        With a one-line message naming the bad key or value and the valid choices.
    """
    if not isinstance(d, dict):
        raise ConfigError(f"a configuration must be a mapping with a 'grids' list, got {type(d).__name__}")
    _check_keys(d, TOP_KEYS, "", "top-level config key")
    grids = d.get("grids")
    if not isinstance(grids, list) or not grids:
        raise ConfigError("config key 'grids' is required: a non-empty list of grids "
                          f"(each with {', '.join(GRID_REQUIRED)})")
    name = d.get("name", Path(source).stem if source != "<dict>" else "custom")
    if not isinstance(name, str) or not name:
        raise _err("name", f"expected a non-empty string, got {name!r}")
    description = d.get("description", "")
    if not isinstance(description, str):
        raise _err("description", f"expected a string, got {description!r}")
    parsed = tuple(parse_grid(g, f"grids[{i}]") for i, g in enumerate(grids))
    return BuildConfig(name=name, description=description, grids=parsed, source=source)
