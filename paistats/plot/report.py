"""A self-contained HTML report of Altair figures, tables and text (works offline, no CDN).

:class:`Report` collects sections; :meth:`Report.write` renders ``index.html`` with Vega, Vega-Lite
and Vega-Embed inlined once (from vl-convert) and every figure's specification and data inline,
and saves each figure as PNG, SVG and PDF plus each table as CSV beside it.

>>> rep = Report("My analysis")                                       # doctest: +SKIP
>>> sec = rep.section("Accuracy")                                     # doctest: +SKIP
>>> sec.figure("accuracy", chart, "Mean test accuracy over 5 seeds …")  # doctest: +SKIP
>>> rep.write("report/")                                              # doctest: +SKIP
"""
from __future__ import annotations

import html
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import pandas as pd

from paistats.plot import _render, export

_ID = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """A lower-case HTML id / file name from ``text``."""
    return _ID.sub("-", text.lower()).strip("-") or "x"


def esc(text) -> str:
    """HTML-escaped ``str(text)``."""
    return html.escape(str(text), quote=True)


@dataclass
class Figure:
    name: str
    chart: alt.TopLevelMixin
    caption: str
    spec: dict | None = None          # the themed Vega-Lite spec, computed once
    rendered: object = None           # a future of {format: bytes} (render_ahead)


@dataclass
class Section:
    """A titled part of a report: blocks of HTML, figures and tables in order."""

    title: str
    id: str
    level: int = 2
    blocks: list = field(default_factory=list)
    _report: "Report | None" = field(default=None, repr=False)

    def text(self, *paragraphs: str) -> "Section":
        """Plain-text paragraphs (escaped)."""
        for p in paragraphs:
            self.blocks.append(f"<p>{esc(p)}</p>")
        return self

    def html(self, fragment: str) -> "Section":
        """A raw HTML fragment (the caller escapes what it interpolates)."""
        self.blocks.append(fragment)
        return self

    def bullets(self, items, *, cls: str = "") -> "Section":
        """An unordered list of plain-text items."""
        c = f' class="{esc(cls)}"' if cls else ""
        self.blocks.append(f"<ul{c}>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>")
        return self

    def note(self, text: str) -> "Section":
        """A highlighted remark (e.g. why something was skipped)."""
        self.blocks.append(f'<p class="note">{esc(text)}</p>')
        return self

    def figure(self, name: str, chart: alt.TopLevelMixin, caption: str) -> "Section":
        """An Altair chart with a numbered caption; saved as ``figures/<name>.{png,svg,pdf}``."""
        fig = self._report._add_figure(name, chart, caption)
        self.blocks.append(fig)
        return self

    def table(self, name: str, df: pd.DataFrame, caption: str, *, floatfmt: str = "{:.4g}",
              index: bool = False, max_rows: int = 400) -> "Section":
        """A DataFrame as an HTML table with a numbered caption; saved in full as ``tables/<name>.csv``."""
        self._report._add_table(name, df)
        shown = df if len(df) <= max_rows else df.head(max_rows)
        body = shown.to_html(index=index, classes="data", border=0, na_rep="–",
                             float_format=lambda x: floatfmt.format(x), escape=True)
        more = (f"<p class='small'>First {max_rows} of {len(df)} rows; all in "
                f"<a href='tables/{esc(name)}.csv'>tables/{esc(name)}.csv</a>.</p>" if len(df) > max_rows else "")
        self.blocks.append(_TableRef(name, caption, body + more))
        return self


class Report:
    """An HTML report under construction.

    Parameters
    ----------
    title : str
    subtitle : str, optional
    render_ahead : bool
        Render each figure (PNG, SVG, PDF) in one worker process as soon as it is added, while the
        caller computes the next ones; :meth:`write` then only writes the bytes. A figure's chart is
        taken as it is when added (its Vega-Lite spec is computed then). The files are the same as
        without it.

    Notes
    -----
    Each figure's Vega-Lite spec is computed once (when added with ``render_ahead``, else at the
    first :meth:`write` or :meth:`html`) and serves both the files and the page.
    """

    def __init__(self, title: str, subtitle: str = "", *, render_ahead: bool = False):
        self.title, self.subtitle = title, subtitle
        self.sections: list[Section] = []
        self.figures: dict[str, Figure] = {}
        self.tables: dict[str, pd.DataFrame] = {}
        self.render_ahead = render_ahead
        self._worker = None

    def section(self, title: str, *, level: int = 2, id: str | None = None) -> Section:
        """Append a section (``level`` 2) or subsection (3) and return it."""
        sid = id or slug(title)
        taken = {s.id for s in self.sections}
        k, base = 2, sid
        while sid in taken:
            sid, k = f"{base}-{k}", k + 1
        sec = Section(title, sid, level, _report=self)
        self.sections.append(sec)
        return sec

    def _add_figure(self, name: str, chart, caption: str) -> "_FigureRef":
        name = slug(name)
        if name in self.figures:
            raise ValueError(f"figure name {name!r} used twice in one report")
        fig = self.figures[name] = Figure(name, chart, caption)
        if self.render_ahead:
            fig.spec = export.spec(chart)
            fig.rendered = self._renderer().submit(fig.spec, export.FORMATS, export._vl_version())
        return _FigureRef(name)

    def _renderer(self) -> _render.Worker:
        """The worker process rendering figures ahead (a fresh interpreter: safe beside dask's threads)."""
        if self._worker is None:
            self._worker = _render.Worker()
        return self._worker

    def _spec(self, f: Figure) -> dict:
        if f.spec is None:
            f.spec = export.spec(f.chart)
        return f.spec

    def _rendered(self, f: Figure, formats: tuple) -> dict[str, bytes]:
        """``{format: bytes}`` of figure ``f``: rendered ahead where that covers ``formats``, else now."""
        if f.rendered is not None and set(formats) <= set(export.FORMATS):
            try:
                done = f.rendered.result()
            except _render.WorkerError:  # a failed figure or a lost worker: render here (real errors recur)
                done = None
            if done is not None:
                return {fmt: done[fmt] for fmt in formats}
        return export.render(self._spec(f), formats)

    def close(self) -> None:
        """Stop the render-ahead worker process, if any (:meth:`write` calls this)."""
        if self._worker is not None:
            self._worker.close()
            self._worker = None

    def _add_table(self, name: str, df: pd.DataFrame) -> None:
        if name in self.tables:
            raise ValueError(f"table name {name!r} used twice in one report")
        self.tables[name] = df

    def _render_block(self, block, numbers: dict) -> str:
        if isinstance(block, _FigureRef):
            f = self.figures[block.name]
            numbers["figure"] += 1
            links = " · ".join(f"<a href='figures/{f.name}.{fmt}'>{fmt.upper()}</a>" for fmt in export.FORMATS)
            return (f"<figure class='chart' id='fig-{f.name}'><div class='vis' id='vis-{f.name}' "
                    f"data-figure='{f.name}'></div><figcaption><b>Figure {numbers['figure']}.</b> {esc(f.caption)} "
                    f"<span class='small'>({links})</span></figcaption></figure>")
        if isinstance(block, _TableRef):
            numbers["table"] += 1
            n = esc(block.name)
            return (f"<figure class='table' id='tab-{n}'><figcaption><b>Table {numbers['table']}.</b> "
                    f"{esc(block.caption)} (<a href='tables/{n}.csv'>CSV</a>)</figcaption>"
                    f"<div class='scroll'>{block.html}</div></figure>")
        return block

    def manifest(self) -> dict:
        """Title, sections, and each figure's and table's number, file name and caption (in page order)."""
        figures, tables, sections = [], [], []
        for s in self.sections:
            sections.append({"title": s.title, "id": s.id, "level": s.level})
            for b in s.blocks:
                if isinstance(b, _FigureRef):
                    figures.append({"number": len(figures) + 1, "name": b.name, "section": s.title,
                                    "caption": self.figures[b.name].caption})
                elif isinstance(b, _TableRef):
                    tables.append({"number": len(tables) + 1, "name": b.name, "section": s.title,
                                   "caption": b.caption})
        return {"title": self.title, "subtitle": self.subtitle, "sections": sections, "figures": figures,
                "tables": tables}

    def html(self, *, footer: str = "") -> str:
        """The whole page as a string (figures inline, JavaScript bundle inline)."""
        specs = {name: self._spec(f) for name, f in self.figures.items()}
        nav = "".join(f"<li class='l{s.level}'><a href='#{s.id}'>{esc(s.title)}</a></li>" for s in self.sections)
        body, numbers = [], {"figure": 0, "table": 0}
        for s in self.sections:
            body.append(f"<section id='{s.id}'><h{s.level}>{esc(s.title)}</h{s.level}>")
            body.extend(self._render_block(b, numbers) for b in s.blocks)
            body.append("</section>")
        # "</" cannot appear inside a <script>: escape it in the JSON
        spec_json = json.dumps(specs, separators=(",", ":")).replace("</", "<\\/")
        bundle = export.javascript_bundle().replace("</script", "<\\/script")
        return _PAGE.format(title=esc(self.title), subtitle=esc(self.subtitle), nav=nav, body="\n".join(body),
                            footer=footer, css=_CSS, bundle=bundle, specs=spec_json, n=len(specs))

    def write(self, folder, *, overwrite: bool = False, formats=export.FORMATS) -> Path:
        """Write ``index.html``, ``figures/`` and ``tables/`` into ``folder``; return the index path.

        Raises
        ------
        FileExistsError
            If ``folder`` exists and is not empty, unless ``overwrite`` (then it is replaced).
        """
        folder = Path(folder)
        formats = tuple(formats)
        export.check_formats(formats)
        if folder.exists() and any(folder.iterdir()):
            if not overwrite:
                raise FileExistsError(f"output folder {folder} exists and is not empty: pass overwrite=True "
                                      "(--overwrite) or choose another folder")
            shutil.rmtree(folder)
        (folder / "figures").mkdir(parents=True, exist_ok=True)
        (folder / "tables").mkdir(exist_ok=True)
        try:
            for f in self.figures.values():
                export.write(self._rendered(f, formats), folder / "figures" / f.name)
        finally:
            self.close()
        for name, df in self.tables.items():
            df.to_csv(folder / "tables" / f"{name}.csv", index=False)
        index = folder / "index.html"
        (folder / "manifest.json").write_text(json.dumps(self.manifest(), indent=1), encoding="utf-8")
        page = self.html(footer="__SIZE__")
        size = len(page.encode("utf-8"))
        page = page.replace("__SIZE__", f"This page: {size / 1e6:.2f} MB, self-contained (Vega {esc(_vega_versions())} "
                                        "inlined; no network needed).")
        index.write_text(page, encoding="utf-8")
        return index


@dataclass(frozen=True)
class _FigureRef:
    name: str


@dataclass(frozen=True)
class _TableRef:
    name: str
    caption: str
    html: str


def _vega_versions() -> str:
    return f"{alt.VEGA_VERSION}, Vega-Lite {alt.SCHEMA_VERSION.lstrip('v')}, Vega-Embed {alt.VEGAEMBED_VERSION}"


_CSS = """
body{font-family:Helvetica,Arial,'DejaVu Sans',sans-serif;margin:0;color:#222;line-height:1.45;font-size:15px}
header{padding:1.2em 2em .6em;border-bottom:1px solid #ddd;background:#fafafa}
header h1{margin:0;font-size:1.6em} header p{margin:.3em 0 0;color:#555}
nav{position:fixed;top:0;left:0;width:15em;height:100%;overflow:auto;padding:1em;box-sizing:border-box;
 border-right:1px solid #ddd;background:#fcfcfc;font-size:.9em}
nav ul{list-style:none;padding:0;margin:0} nav li.l3{padding-left:1em} nav a{color:#0072B2;text-decoration:none}
.page{margin-left:15em} main{padding:0 2em 3em;max-width:1150px}
h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em} h3{margin-top:1.3em}
figure{margin:1.2em 0} .vis{zoom:1.3} figcaption{font-size:.9em;color:#333;max-width:60em}
.small{font-size:.85em;color:#666} .note{background:#fff7e0;border-left:3px solid #E69F00;padding:.4em .8em}
.scroll{overflow-x:auto} table.data{border-collapse:collapse;font-size:.85em}
table.data th,table.data td{padding:.2em .6em;border-bottom:1px solid #e3e3e3;text-align:left;vertical-align:top}
table.data th{background:#f3f3f3} .verdicts li{margin:.2em 0} footer{padding:1em 2em;color:#666;font-size:.85em}
@media (max-width:900px){nav{position:static;width:auto;height:auto}.page{margin-left:0}}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{css}</style>
<script>{bundle}</script></head>
<body><nav aria-label="Contents"><b>Contents</b><ul>{nav}</ul></nav>
<div class="page"><header><h1>{title}</h1><p>{subtitle}</p></header>
<main>
{body}
</main><footer>{footer}</footer></div>
<script>
const SPECS = {specs};
const opts = {{renderer: "svg", actions: false}};
let done = 0, failed = 0;
Promise.all(Object.entries(SPECS).map(([name, spec]) =>
  vegaEmbed("#vis-" + name, spec, opts).then(() => {{ done += 1; }})
    .catch(err => {{ failed += 1; console.error("figure " + name + ": " + err); }})
)).then(() => {{ document.body.dataset.rendered = String(done); document.body.dataset.failed = String(failed); }});
</script>
</body></html>
"""
