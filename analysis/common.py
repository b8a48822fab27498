"""What every reproduction script shares: the zoo's entries, the runs table, and the list of skips.

A script reads like a user's own analysis: it calls ``paistats.load("<arch>-<method>", zoo=...)``
(root variables) or ``paistats.load("<arch>", zoo=...)`` (every method stacked along ``pruner``, for
tensor statistics) and turns what it finds into tidy tables, figures and verdicts.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

import paistats
from paistats.vocabulary import PRUNER  # noqa: F401  (re-exported: the analysis scripts import it from here)
ROOT_VARS = ("complete", "accuracy", "density", "disconnected")


@dataclass
class Arch:
    """The entries of one (architecture, dataset) in the zoo that the report covers."""

    arch: str
    dataset: str
    names: dict[str, str]            # method → the name to pass to paistats.load
    default_dataset: bool = True

    @property
    def label(self) -> str:
        return f"{self.arch} on {self.dataset}"

    @property
    def load_name(self) -> str:
        """Name loading every method stacked (the arch alias when the dataset is the default)."""
        return self.arch if self.default_dataset else None


@dataclass
class Context:
    """Inputs and running notes of one report.

    Attributes
    ----------
    zoo : str or path
        As the user gave it (a folder or a Hub repo id): passed to ``paistats.load`` unchanged.
    listing : pandas.DataFrame
        ``paistats.list_zoo(zoo)`` restricted to the selected entries.
    margin : float
        Accuracy margin (fraction, 0.01 = 1 percentage point) for equivalence and non-inferiority.
    alpha : float
        Level of every test; intervals (and the verdicts read from them) are Bonferroni-level within the
        stated families.
    """

    zoo: object
    listing: pd.DataFrame
    margin: float = 0.01
    alpha: float = 0.05
    shift_margin: float = 0.1
    skipped: list[dict] = field(default_factory=list)
    summary: list[dict] = field(default_factory=list)
    _root_runs: dict = field(default_factory=dict, repr=False)   # root_runs per Arch, read once per report

    def skip(self, section: str, what: str, reason: str) -> None:
        """Record that ``what`` of ``section`` was left out and why (shown in the report's skip table)."""
        self.skipped.append({"section": section, "what": what, "reason": reason})

    def verdict(self, question: str, answer: str, section: str) -> None:
        """One line of the verdict summary at the top of the report."""
        self.summary.append({"question": question, "answer": answer, "section": section})

    def arches(self) -> list[Arch]:
        out = {}
        for entry, row in self.listing.iterrows():
            if row.get("error"):
                continue
            key = (row["arch"], row["dataset"])
            a = out.setdefault(key, Arch(row["arch"], row["dataset"], {}, default_dataset=row["alias"] is not None))
            a.names[row["pruner"]] = row["alias"] or entry
        return list(out.values())


def open_listing(zoo, entries: list[str] | None, ctx_skip) -> pd.DataFrame:
    """``paistats.list_zoo`` with only ``entries`` (names or aliases); unknown names and unreadable or
    incomplete entries are reported through ``ctx_skip(section, what, reason)``."""
    listing = paistats.list_zoo(zoo)
    if entries:
        keep = []
        for name in entries:
            hit = listing.index[(listing.index == name) | (listing["alias"] == name) | (listing["arch"] == name)]
            if len(hit) == 0:
                ctx_skip("zoo", name, f"no such entry in the zoo (entries: {', '.join(listing.index)})")
            keep += list(hit)
        listing = listing.loc[list(dict.fromkeys(keep))]
    for entry, row in listing.iterrows():
        if row.get("error"):
            ctx_skip("zoo", entry, f"unreadable: {row['error']}")
        elif row["complete"] < row["planned"]:
            ctx_skip("zoo", entry, f"incomplete: {row['complete']} of {row['planned']} runs complete; "
                                   "only complete runs are used (rerun the build to finish it)")
    return listing


def root_runs(ctx: Context, arch: Arch) -> xr.Dataset:
    """Root variables of every method of ``arch``, stacked along ``pruner`` (complete runs only).

    Loads each entry as a user would, ``paistats.load("<arch>-<method>", zoo=...)``, reading only
    the small root arrays; once per report (``ctx`` keeps them; each call gets its own shallow copy).
    """
    key = (arch.arch, arch.dataset, tuple(arch.names.items()))
    if key not in ctx._root_runs:
        ctx._root_runs[key] = _read_root_runs(ctx, arch)
    return ctx._root_runs[key].copy(deep=False)


def _read_root_runs(ctx: Context, arch: Arch) -> xr.Dataset:
    parts = []
    for method, name in arch.names.items():
        tree = paistats.load(name, zoo=ctx.zoo, tensors=False)
        ds = tree.to_dataset(inherit=True)[[v for v in ROOT_VARS if v in tree.data_vars]].load()
        complete = ds["complete"].astype(bool)
        ds = ds.where(complete)
        ds["complete"] = complete
        parts.append(ds.expand_dims({PRUNER: [method]}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xr.concat(parts, dim=PRUNER, join="outer", fill_value={"complete": False})


def runs_frame(ds: xr.Dataset) -> pd.DataFrame:
    """One row per complete run: pruner, variant, sparsity, seed and the root variables."""
    df = ds.to_dataframe().reset_index()
    df = df[df["complete"].astype(bool)].drop(columns="complete")
    for c in ("disconnected",):
        if c in df:
            df[c] = df[c].astype(bool)
    return df.reset_index(drop=True)


def fmt_pp(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{100 * x:+.2f} pp"


def count_phrase(counts: pd.Series, total: int) -> str:
    """'3 equivalent, 1 inconclusive of 4'."""
    parts = [f"{int(n)} {k}" for k, n in counts.items() if n]
    return (", ".join(parts) or "none") + f" (of {total})"
