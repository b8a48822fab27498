"""Export charts to PNG, SVG, PDF (vl-convert, offline) and Vega-Lite JSON in the paper theme."""
from __future__ import annotations

import functools
import os
from pathlib import Path

import altair as alt

from paistats.plot import theme

FORMATS = ("png", "svg", "pdf")


def _vl_version() -> str:
    from altair.utils._importers import vl_version_for_vl_convert

    return vl_version_for_vl_convert()


def spec(chart: alt.TopLevelMixin) -> dict:
    """The chart's Vega-Lite specification (a dict) with the paper theme applied.

    Parameters
    ----------
    chart : altair chart
        Any Altair chart (``Chart``, layered, faceted or concatenated), e.g. from
        :mod:`paistats.plot.charts`.

    Returns
    -------
    dict
        The Vega-Lite JSON specification (``chart.to_dict()``, validated by altair against the
        Vega-Lite schema) with the paper theme's ``config``; inline data is gathered under ``datasets``.
    """
    with theme.enable():
        return chart.to_dict()


def save(chart: alt.TopLevelMixin, stem: str | os.PathLike, *, formats=FORMATS, scale: float = 2.0,
         ppi: float = 144.0) -> dict[str, Path]:
    """Write ``chart`` as ``<stem>.png`` / ``.svg`` / ``.pdf`` (and ``.json``, its Vega-Lite spec, if asked).

    Parameters
    ----------
    chart : altair chart
    stem : path-like
        File path without extension; parent folders are created.
    formats : iterable of {"png", "svg", "pdf", "json"}
    scale : float
        PNG pixel scale (2 → 144 px per inch of a column-width figure).
    ppi : float
        Pixels per inch recorded in the PNG's metadata.

    Returns
    -------
    dict
        Format → written path.

    Notes
    -----
    Uses ``vl_convert`` directly (no browser, no network); SVG/PDF keep text as text.
    """
    formats = tuple(formats)
    check_formats(formats)
    return write(render(spec(chart), formats, scale=scale, ppi=ppi), stem)


def check_formats(formats) -> None:
    """Refuse an unknown export format with one line naming the valid ones."""
    unknown = set(formats) - {*FORMATS, "json"}
    if unknown:
        raise ValueError(f"unknown export format(s) {', '.join(sorted(unknown))}; choose from png, svg, pdf, json")


def render(vl: dict, formats=FORMATS, *, scale: float = 2.0, ppi: float = 144.0) -> dict[str, bytes]:
    """``{format: bytes}`` of a Vega-Lite spec (from :func:`spec`); see :func:`save` for the parameters."""
    from paistats.plot._render import render as _render

    return _render(vl, tuple(formats), _vl_version(), scale, ppi)


def write(rendered: dict[str, bytes], stem: str | os.PathLike) -> dict[str, Path]:
    """Write ``{format: bytes}`` (from :func:`render`) as ``<stem>.<format>``; parent folders are created."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = {}
    for fmt, data in rendered.items():
        path = stem.with_name(f"{stem.name}.{fmt}")
        path.write_bytes(data)
        out[fmt] = path
    return out


@functools.lru_cache(maxsize=1)
def javascript_bundle() -> str:
    """Vega, Vega-Lite and Vega-Embed as one script (defines ``vegaEmbed`` globally), from vl-convert.

    Inlined into a report so that it renders offline (~0.9 MB). Building it takes seconds, so it
    is cached per process and on disk under ``$PAISTATS_CACHE/..`` (``~/.cache/paistats``), keyed by
    the vl-convert and Vega-Lite versions.
    """
    import vl_convert as vlc

    from paistats.zoo import cache_dir

    key = f"vega-bundle-{vlc.__version__}-{_vl_version()}.js"
    path = cache_dir().parent / key
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    except OSError:
        pass
    bundle = vlc.javascript_bundle(vl_version=_vl_version())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(bundle, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
    return bundle
