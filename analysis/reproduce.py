"""``python -m analysis reproduce``: build the zoo if needed, run every reproduction, write the report.

:func:`reproduce` is the library entry point; :func:`build_report` writes a report of an existing zoo.
"""
from __future__ import annotations

import datetime as _dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import paistats
from analysis import factorial, frankle, link, singh_liu
from analysis.common import Context, open_listing
from analysis.presets import MEASURED, REPORT_PRESETS as PRESETS, REPORT_SEEDS, check_preset
from paistats.plot.report import Report
from paistats.vocabulary import PRUNER

__all__ = ["PRESETS", "REPORT_SEEDS", "ReproduceError", "build_config", "build_report", "build_zoo",
           "estimate_minutes", "format_summary", "missing_runs"]


class ReproduceError(Exception):
    """Bad input: the message is one line naming the problem and the fix (the CLI exits 2)."""


def build_config(preset: str) -> dict:
    """The zoo_builder configuration the report builds for ``preset``: zoo_builder's own preset.

    Parameters
    ----------
    preset : str
        One of :data:`PRESETS` (zoo_builder preset names).

    Returns
    -------
    dict
        A copy of ``zoo_builder.presets.get(preset)``, unchanged.

    Raises
    ------
    ReproduceError
        A preset the report does not build (see :func:`analysis.presets.check_preset`).
    """
    from analysis.presets import PresetError

    try:
        return check_preset(preset)
    except PresetError as e:
        raise ReproduceError(str(e)) from None


def estimate_minutes(cfg: dict, workers: int) -> tuple[int, float]:
    """(runs, rough wall minutes) of building ``cfg`` with ``workers`` CPU workers (zoo_builder's estimate)."""
    from zoo_builder import config, plan

    p = plan.from_config(config.parse(cfg, source="analysis"))
    return len(p.specs), p.estimate_seconds() / max(workers, 1) / 60


def missing_runs(path: Path, preset: str) -> tuple[int, int]:
    """(runs of ``preset`` not complete in the zoo at ``path``, runs planned); read-only."""
    from zoo_builder import config, plan, store

    p = plan.from_config(config.parse(build_config(preset), source="analysis"))
    todo = 0
    for entry, specs in p.entries().items():
        done = set(store.completed(str(path), entry)) if (Path(path) / entry).exists() else set()
        todo += sum(s.hash not in done for s in specs)
    return todo, len(p.specs)


def build_zoo(path: Path, preset: str, *, workers: int | None = None, quiet: bool = False) -> None:
    """Build the ``preset`` zoo into ``path`` with ``python -m zoo_builder`` (resumes a partial build)."""
    import yaml

    cfg = build_config(preset)
    workers = workers or min(os.cpu_count() or 1, 8)
    runs, minutes = estimate_minutes(cfg, workers)
    todo, _ = missing_runs(path, preset)
    what = "no zoo" if todo == runs else f"{todo} of the {runs} runs of {preset!r} missing"
    est = minutes * todo / max(runs, 1)
    est_txt = f"{est * 60:.0f} s" if est < 1.5 else f"{est:.0f} min"
    print(f"analysis: {what} at {path}: building the {preset!r} zoo there ({todo} runs; zoo_builder estimates "
          f"{est_txt} on {workers} CPU worker(s); measured on 2 cores: {MEASURED[preset]}). "
          "Interrupting and rerunning resumes.", flush=True)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(cfg, f)
    try:
        cmd = [sys.executable, "-m", "zoo_builder", "--config", f.name, "--zoo", str(path), "--workers", str(workers)]
        if quiet:
            cmd.append("--quiet")
        t0 = time.perf_counter()
        rc = subprocess.run(cmd).returncode
    finally:
        os.unlink(f.name)
    if rc not in (0, 1):
        raise ReproduceError(f"building the zoo failed (zoo_builder exit code {rc}); rerun to resume, or see above")
    print(f"analysis: zoo built in {(time.perf_counter() - t0) / 60:.1f} min", flush=True)


def _methods(report: Report, ctx: Context) -> None:
    sec = report.section("Methods", level=2)
    rows = []
    first = None
    for entry, row in ctx.listing.iterrows():
        if row.get("error"):
            continue
        tree = paistats.load(row["alias"] or entry, zoo=ctx.zoo, tensors=False)
        a = tree.attrs
        first = first or a
        r = a.get("recipe", {}) or {}
        rows.append({"entry": entry, "arch": a.get("arch"), "dataset": a.get("dataset"), PRUNER: a.get(PRUNER),
                     "recipe": r.get("name"), "epochs": r.get("epochs"), "optimizer": r.get("optimizer"),
                     "lr": r.get("lr"), "batch": r.get("batch_size"),
                     "variants": ", ".join(row["variants"]), "sparsities": ", ".join(f"{s:g}" for s in row["sparsities"]),
                     "seeds": len(row["seeds"]), "runs complete": f"{row['complete']}/{row['planned']}",
                     "scoring examples/class": a.get("per_class"), "format": a.get("format_version")})
    sec.text(f"Zoo: {ctx.zoo}. Everything below is computed from the stored runs; no number or conclusion in this "
             "report is written by hand. Only complete runs count.")
    if rows:
        sec.table("entries", pd.DataFrame(rows), "Entries analysed, from their stored attributes.")
    if first:
        rec = first.get("recipe", {}) or {}
        sec.text("Recipe of the first entry: " + ", ".join(f"{k} = {v}" for k, v in rec.items()) + ".")
        versions = first.get("versions", {}) or {}
        sec.text("Built with " + ", ".join(f"{k} {v}" for k, v in versions.items())
                 + f"; builder git revision {first.get('git_revision', 'unknown')}.")
    import altair
    import scipy
    import statsmodels

    sec.text(f"Analysed with paistats {paistats.__version__}, scipy {scipy.__version__}, statsmodels "
             f"{statsmodels.__version__}, altair {altair.__version__}, pandas {pd.__version__}, on "
             f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC; analysis git revision {_git_revision()}.")
    sec.text(f"Inference: one number per run; seeds are the replicates and variants are paired with the original "
             f"of the same seed. Accuracy margin ±{100 * ctx.margin:g} pp (equivalence and non-inferiority); "
             f"kept-weight std margin ±{100 * ctx.shift_margin:g} %; α = {ctx.alpha}. Every verdict is read off the "
             "interval printed beside it, at the level of its family (Bonferroni, 1 − α/m, over the family named "
             "in each table), so no verdict contradicts its interval. Per-weight quantities (ECDFs) are "
             "descriptive.")


def _git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or "unknown"
    except Exception:
        return "unknown"


def _guarded(ctx: Context, report: Report, title: str, arch, fn):
    """Run one section; what the zoo cannot answer skips it with the reason, a bug ends the report.

    Only :class:`paistats.ZooError` — raised on purpose, one line, for input a section cannot use: an
    unreadable or unknown entry, a test without its reference variant or with too few seeds
    (:class:`paistats.inference.InferenceError` is one) — becomes a "skipped" line in the report and in
    ``ctx.skipped``. Any other exception (``KeyError``, ``ValueError``, ``TypeError``, …) is a bug in the
    section and propagates.
    """
    try:
        return fn()
    except paistats.ZooError as e:
        reason = f"{type(e).__name__}: " + " ".join(str(e).split())[:300]
        ctx.skip(f"{title} ({arch.label})", "the whole section", reason)
        report.section(f"{title}: {arch.label} (skipped)", level=2).note(f"Skipped: {reason}")
        return None


def build_report(zoo, out, *, entries: list[str] | None = None, overwrite: bool = False, margin: float = 0.01,
                 shift_margin: float = 0.1, alpha: float = 0.05,
                 sections=("frankle", "singh_liu", "link", "factorial"),
                 formats=None) -> tuple[Path, Context]:
    """Write the report of ``zoo`` (a folder or Hub repo) into ``out``; returns (index.html, context).

    Raises
    ------
    ReproduceError
        ``out`` exists (without ``overwrite``), or nothing in the zoo can be analysed.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ReproduceError(f"output folder {out} exists: pass --overwrite to replace it, or choose another --out")
    skipped = []
    listing = open_listing(zoo, entries, lambda s, w, r: skipped.append({"section": s, "what": w, "reason": r}))
    ctx = Context(zoo=zoo, listing=listing, margin=margin, shift_margin=shift_margin, alpha=alpha, skipped=skipped)
    arches = ctx.arches()
    if not arches:
        raise ReproduceError(f"no readable entry to analyse in {zoo}"
                             + (f" among {', '.join(entries)}" if entries else "")
                             + f"; python -m paistats list --zoo {zoo} lists its entries")
    # figures render in a worker process while the next sections compute (same files, less wall time)
    report = Report("Pruning at initialization: reproduction report",
                    f"Frankle et al. (ICLR 2021) and Singh & Liu (2021) on {', '.join(a.label for a in arches)}",
                    render_ahead=True)
    try:
        return _fill_and_write(ctx, report, arches, out, sections=sections, overwrite=overwrite, formats=formats)
    finally:
        report.close()


def _fill_and_write(ctx: Context, report: Report, arches, out: Path, *, sections, overwrite: bool,
                    formats) -> tuple[Path, Context]:
    """Every section of ``report`` from ``ctx``, then the files (see :func:`build_report`)."""
    summary = report.section("Verdict summary", level=2)
    for arch in arches:
        if "frankle" in sections:
            _guarded(ctx, report, frankle.SECTION, arch, lambda: frankle.run(ctx, report, arch))
        sl = {}
        if "singh_liu" in sections:
            sl = _guarded(ctx, report, singh_liu.SECTION, arch, lambda: singh_liu.run(ctx, report, arch)) or {}
        if "link" in sections:
            _guarded(ctx, report, link.SECTION, arch, lambda: link.run(ctx, report, arch, sl))
        if "factorial" in sections:  # only where the zoo holds the 2 × 2 design (shuffle_kept, permute_kept)
            _guarded(ctx, report, factorial.SECTION, arch, lambda: factorial.run(ctx, report, arch))
    _methods(report, ctx)
    skip = report.section("Skipped and why", level=2)
    if ctx.skipped:
        skip.table("skipped", pd.DataFrame(ctx.skipped).drop_duplicates(), "What this report left out, and why.")
    else:
        skip.text("Nothing was skipped.")
    summary.text("Each line answers one question from the data (counts of verdicts over the cells tested; the "
                 "sections below hold the tests, figures and families).")
    if ctx.summary:
        summary.table("verdicts", pd.DataFrame(ctx.summary)[["question", "answer"]], "Verdicts.")
    else:
        summary.note("No question could be answered from this zoo (see 'Skipped and why').")
    kw = {} if formats is None else {"formats": formats}
    index = report.write(out, overwrite=overwrite, **kw)
    return index, ctx


def format_summary(ctx: Context) -> str:
    """The verdict summary as plain text (what the CLI prints)."""
    lines = ["Verdict summary"]
    for row in ctx.summary:
        lines.append(f"- {row['question']}: {row['answer']}")
    if ctx.skipped:
        lines.append(f"({len(ctx.skipped)} item(s) skipped; see the report's 'Skipped and why')")
    return "\n".join(lines)
