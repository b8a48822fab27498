"""The zoos ``python -m analysis reproduce`` builds: zoo_builder's presets, by name (never retyped).

Light on purpose (no pandas, no torch): the command line checks ``--preset`` before it imports
the report. A preset means the same grid in ``zoo_builder`` and here; the report only refuses the
presets it cannot serve (fewer seeds than its seed-level inference needs, or a grid it does not
build by itself).
"""
from __future__ import annotations

#: Seeds the report needs at least: its inference treats seeds as the replicates (one number per
#: run), and a paired interval over fewer than 3 seeds has 1 degree of freedom or none.
REPORT_SEEDS = 3
#: zoo_builder presets the report builds when the zoo is missing (all run on a CPU).
REPORT_PRESETS = ("tiny", "mini", "factorial")
DEFAULT_PRESET = "mini"
#: Measured build times (2 cores), printed before a build.
MEASURED = {"mini": "13.6 min for all 510 runs with the stored statistics on idle cores",
            "tiny": "≈ 2 min for all 162 runs, then ≈ 40 s for the report",
            "factorial": "11.5 min for all 250 runs with the stored statistics"}


class PresetError(ValueError):
    """A ``--preset`` the report cannot build: one line naming the problem and the fix."""


def grid_seeds(config: dict) -> int:
    """Fewest seeds of any grid of a preset's configuration mapping.

    Parameters
    ----------
    config : dict
        A mapping in zoo_builder's config-file schema (``seeds``: a count n, or a list of seeds).

    Returns
    -------
    int
    """
    counts = [g.get("seeds", 1) for g in config["grids"]]
    return min(n if isinstance(n, int) else len(n) for n in counts)


def check_preset(name: str) -> dict:
    """zoo_builder's preset ``name``, if the report builds it.

    Parameters
    ----------
    name : str
        A preset name.

    Returns
    -------
    dict
        A copy of the preset's configuration mapping (``zoo_builder.presets.get``).

    Raises
    ------
    PresetError
        An unknown name (with the close matches), a preset with fewer than :data:`REPORT_SEEDS`
        seeds, or one the report does not build (build it with zoo_builder, then give ``--zoo``).
    """
    from paistats.cli import unknown_choice
    from zoo_builder import presets

    if name not in presets.names():
        raise PresetError(unknown_choice("preset", name, REPORT_PRESETS))
    cfg = presets.get(name)
    if grid_seeds(cfg) < REPORT_SEEDS:
        same = [p for p in REPORT_PRESETS if presets.get(p)["grids"][0].get("recipe") == cfg["grids"][0].get("recipe")]
        instead = f"use --preset {same[0]} (the same grid with {REPORT_SEEDS} seeds)" if same else \
            f"use one of {', '.join(REPORT_PRESETS)}"
        raise PresetError(f"preset {name!r} has {grid_seeds(cfg)} seed(s) and the report's seed-level inference "
                          f"needs at least {REPORT_SEEDS}; {instead}")
    if name not in REPORT_PRESETS:
        raise PresetError(f"the report does not build preset {name!r} (it builds {', '.join(REPORT_PRESETS)}); "
                          f"build it with python -m zoo_builder --preset {name} --zoo DIR, then give --zoo DIR")
    return cfg


def default_paths(preset: str) -> tuple[str, str]:
    """(zoo folder, report folder) when ``--zoo`` / ``--out`` are not given: ``zoo`` and ``report``
    for the default preset, ``zoo-<preset>`` and ``report-<preset>`` for the others."""
    if preset == DEFAULT_PRESET:
        return "zoo", "report"
    return f"zoo-{preset}", f"report-{preset}"
