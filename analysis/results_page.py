"""``python -m analysis results-page REPORT_DIR``: the docs' results page from a report folder.

Writes ``docs/results.md`` (verdicts, entries, figures with their captions, links to every table)
and copies the figures' PNGs to ``docs/results/``; regenerate it after `reproduce` on the mini zoo.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd


def _md_table(df: pd.DataFrame, max_rows: int = 60) -> str:
    df = df.head(max_rows).fillna("")

    def cell(x) -> str:
        if isinstance(x, float):
            x = f"{x:.4g}"
        return str(x).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(map(cell, df.columns)) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(cell(v) for v in row) + " |\n" for row in df.itertuples(index=False))


def write(report: Path, docs: Path) -> Path:
    """Write ``docs/results.md`` from the report folder ``report``; returns its path."""
    manifest_path = report / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{report} is not a report folder (no manifest.json): run `python -m analysis "
                                "reproduce` first")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    media = docs / "results"
    if media.exists():
        shutil.rmtree(media)
    media.mkdir(parents=True)
    lines = ["# Results", "",
             "Generated from an actual run by `python -m analysis results-page REPORT_DIR` after "
             "`python -m analysis reproduce` (the `mini` zoo: LeNet-300-100 on MNIST, 5 seeds). Every number and "
             "verdict below comes from that run; the full interactive report is `report/index.html`.", ""]
    tables = {t["name"]: t for t in manifest["tables"]}
    for name, title in (("verdicts", "Verdict summary"), ("entries", "Entries")):
        if name in tables:
            lines += [f"## {title}", "", _md_table(pd.read_csv(report / "tables" / f"{name}.csv")), ""]
    lines += ["## Figures", ""]
    section = None
    for f in manifest["figures"]:
        if f["section"] != section:
            section = f["section"]
            lines += [f"### {section}", ""]
        png = report / "figures" / f"{f['name']}.png"
        shutil.copy(png, media / png.name)
        lines += [f"![Figure {f['number']}](results/{png.name})", "",
                  f"*Figure {f['number']}.* {f['caption']}", ""]
    lines += ["## Tables", ""]
    for t in manifest["tables"]:
        if t["name"] in ("verdicts", "entries"):
            continue
        df = pd.read_csv(report / "tables" / f"{t['name']}.csv")
        lines += [f"### Table {t['number']}: {t['section']}", "", t["caption"], "",
                  _md_table(df, max_rows=30), "" if len(df) <= 30 else f"(first 30 of {len(df)} rows)", ""]
    path = docs / "results.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
