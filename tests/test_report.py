"""The reproduction report end to end on a small real zoo: written by ``python -m analysis reproduce``,
self-contained, rendered in headless Chromium with every figure drawn, no console error and no network
request; exported figures are valid; bad input gives one line and exit 2."""
from __future__ import annotations

import os
import re
import shutil
from html.parser import HTMLParser

import pandas as pd
import pytest

import _report_zoo
from _images import check_pdf, check_png, check_svg
from analysis import browser
from analysis.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    return _report_zoo.build(tmp_path_factory.mktemp("report") / "zoo")  # ≈ 48 one-epoch runs


@pytest.fixture(scope="module")
def report(zoo, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "report"
    rc = main(["reproduce", "--zoo", str(zoo), "--out", str(out)])
    assert rc == 0
    return out


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.ids, self.figures, self.headings = [], set(), [], []
        self._h = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            if a.get(k):
                self.refs.append((tag, a[k]))
        if a.get("id"):
            self.ids.add(a["id"])
        if a.get("data-figure"):
            self.figures.append(a["data-figure"])
        if tag in ("h2", "h3"):
            self._h = tag

    def handle_data(self, data):
        if self._h:
            self.headings.append(data)
            self._h = None


def test_report_is_self_contained_and_navigable(report):
    html = (report / "index.html").read_text(encoding="utf-8")
    p = _Refs()
    p.feed(html)
    # nothing is fetched from elsewhere: no src at all, links only to in-page anchors and to local files
    assert not [r for t, r in p.refs if t in ("script", "img", "link", "iframe")]
    external = [r for _, r in p.refs if re.match(r"^[a-z]+://", r) or r.startswith("//")]
    assert not external
    anchors = [r[1:] for _, r in p.refs if r.startswith("#")]
    assert anchors and all(a in p.ids for a in anchors)
    local = [r for _, r in p.refs if not r.startswith("#")]
    assert local and all((report / r).is_file() for r in local)
    for heading in ("Verdict summary", "Methods", "Skipped and why"):
        assert heading in p.headings
    assert p.headings[0] == "Verdict summary"
    assert html.count("<figcaption>") >= len(p.figures) >= 8
    assert "Runs:" in html                           # captions say which runs
    assert "cdn." not in html and "https://" not in html.split("<script>")[0]


def test_every_figure_has_png_svg_pdf_and_they_are_valid(report):
    svgs = sorted((report / "figures").glob("*.svg"))
    assert len(svgs) >= 8
    for svg in svgs:
        check_svg(svg)
        check_png(svg.with_suffix(".png"))
        check_pdf(svg.with_suffix(".pdf"))


def test_report_answers_from_the_data(report, zoo):
    import paistats

    entries = pd.read_csv(report / "tables" / "entries.csv")
    listing = paistats.list_zoo(zoo)
    assert dict(zip(entries["entry"], entries["pruner"])) == dict(zip(listing.index, listing["pruner"]))
    verdicts = pd.read_csv(report / "tables" / "verdicts.csv")
    questions = " ".join(verdicts["question"])
    for q in ("non-inferiority", "equivalence", "invert", "random pruning", "disconnected", "noise floor",
              "does shift at init explain Δaccuracy under shuffle / reinit",
              "is trained shift associated with Δaccuracy", "association, not explanation",
              "what does an inverted mask cost"):
        assert q in questions, q
    # the disconnected line lists exactly the runs the zoo flags
    tree = paistats.load("mnist1d_mlp", zoo=zoo, tensors=False)
    flagged = (tree["disconnected"] & tree["complete"]).sum("seed").to_series()
    expected = {f"{p}/{v} s={s:g}" for (p, v, s), n in flagged.items() if n > 0}
    line = verdicts[verdicts["question"].str.contains("disconnected")]["answer"].iloc[0]
    assert {c.split(" (")[0] for c in line.split(", ")} == expected if expected else "no run" in line
    tests = pd.read_csv(report / "tables" / "tests-mnist1d_mlp.csv")
    assert set(tests["pruner"]) <= set(_report_zoo.METHODS)
    tested = tests[tests["verdict"] != "no-op by construction"]
    assert tested["family"].str.startswith("bonferroni over pruner × sparsity").all()
    # every verdict is the one its printed interval gives (docs/api.md, "Verdicts"), at level 1 − α/m
    assert len(tested) > 0
    for _, row in tested.iterrows():
        low, high = row["CI low (pp)"], row["CI high (pp)"]
        margin = 1.0 if row["comparison"].startswith(("shuffle", "reinit")) else None  # pp; --margin 0.01
        assert row["verdict"] == _verdict_of_interval(low, high, margin), row.to_dict()
        m = int(re.search(r"\(m=(\d+)", row["family"]).group(1))
        assert float(row["CI level"]) == pytest.approx(1 - 0.05 / m), row.to_dict()


def _verdict_of_interval(low: float, high: float, margin: float | None) -> str:
    """The verdict rule written out independently of paistats.inference.verdicts (higher is better)."""
    if low > 0:
        return "better"
    if high < 0:
        return "worse"
    if margin is not None and -margin < low and high < margin:
        return "equivalent"
    if margin is not None and low > -margin:
        return "non-inferior"
    return "inconclusive"


def test_report_renders_in_headless_chromium(report, tmp_path):
    if browser.find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs Debian's `chromium` package")
        pytest.skip("no chromium (apt-get install chromium)")
    shot = tmp_path / "screenshot.png"
    result = browser.check(report / "index.html", screenshot=shot)
    assert result.figures, "no figure container found"
    assert len(result.figures) == len(list((report / "figures").glob("*.svg")))
    assert not result.blank, f"figures without marks: {result.blank}"
    assert all(f["svg"] and f["marks"] > 0 for f in result.figures.values())
    assert not result.console_errors
    assert not result.requests
    assert result.ok
    check_png(shot)
    keep = os.environ.get("PAISTATS_SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, os.path.join(keep, "report.png"))


def test_browser_check_catches_a_broken_figure_and_a_network_request(report, tmp_path):
    if browser.find_chromium() is None:
        pytest.skip("no chromium")
    bad = tmp_path / "bad"
    shutil.copytree(report, bad)
    html = (bad / "index.html").read_text(encoding="utf-8")
    # one figure's spec made invalid (a mark type Vega-Lite does not know) and one image from the network
    html = html.replace('"mark":{"type":"rule"', '"mark":{"type":"no-such-mark"', 1)
    html = html.replace("<main>", "<main><img src='http://127.0.0.1:9/x.png' alt=''>", 1)
    (bad / "index.html").write_text(html, encoding="utf-8")
    result = browser.check(bad / "index.html")
    assert result.blank and result.console_errors and result.requests
    assert not result.ok


def test_existing_output_folder_is_refused_without_overwrite(report, zoo, capsys):
    rc = main(["reproduce", "--zoo", str(zoo), "--out", str(report)])
    err = capsys.readouterr().err
    assert rc == 2 and "exists" in err and "--overwrite" in err and err.count("\n") == 1


def test_missing_random_and_too_few_seeds_are_skipped_with_reasons(tmp_path, capsys):
    zoo = _report_zoo.build(tmp_path / "zoo1", methods=("magnitude",), seeds=(0,), variants=("original", "shuffle"))
    out = tmp_path / "r"
    rc = main(["reproduce", "--zoo", str(zoo), "--out", str(out), "--entries", "mnist1d_mlp-magnitude",
               "nonexistent-entry"])
    assert rc == 0
    skipped = pd.read_csv(out / "tables" / "skipped.csv")
    reasons = " ".join(skipped["reason"])
    assert "no such entry" in reasons                        # the unknown entry, named
    assert "no `random` pruner" in reasons                   # no random baseline or ratio
    assert "at least 2" in reasons                           # one seed: no seed-level test
    assert "Skipped and why" in (out / "index.html").read_text(encoding="utf-8")


def test_singh_liu_grasp_convention_is_compared_against_invert(tmp_path):
    from analysis import reproduce

    variants = ("original", "shuffle", "reinit", "invert", "invert_shuffle", "invert_reinit")
    zoo = _report_zoo.build(tmp_path / "zoo", methods=("grasp",), variants=variants, epochs=0)
    index, ctx = reproduce.build_report(zoo, tmp_path / "r", sections=("singh_liu",), formats=("svg",))
    manifest = (tmp_path / "r" / "manifest.json").read_text()
    assert "distance-grasp-convention" in manifest
    lines = [v["question"] for v in ctx.summary if "Singh & Liu's GraSP" in v["question"]]
    assert any("invert_shuffle vs invert" in q for q in lines) and any("invert_reinit vs invert" in q for q in lines)
    assert any("no `random` pruner" in s["reason"] for s in ctx.skipped)


def test_a_zoo_without_the_reference_variant_gives_reasons_not_a_crash(tmp_path):
    from analysis import reproduce

    zoo = _report_zoo.build(tmp_path / "zoo", seeds=(0, 1), variants=("shuffle", "reinit"), epochs=0)
    index, ctx = reproduce.build_report(zoo, tmp_path / "r", formats=("svg",))
    reasons = " ".join(s["reason"] for s in ctx.skipped)
    assert "original" in reasons
    # each section said what it could not answer; none was cut off whole by an exception
    assert not [s for s in ctx.skipped if s["what"] == "the whole section"], ctx.skipped
    sections = [s["section"] for s in ctx.skipped]
    assert any(t.startswith("Frankle et al.") for t in sections)
    assert any(t.startswith("Singh & Liu") for t in sections)
    assert index.is_file()


# --- sections: what the zoo cannot answer is skipped, a bug crashes ---------------------------------

def _raise(e: BaseException):
    def fn():
        raise e
    return fn


def test_guarded_skips_what_the_zoo_cannot_answer_and_lets_bugs_crash():
    from types import SimpleNamespace

    from analysis import reproduce
    from analysis.common import Context
    from paistats.inference import InferenceError
    from paistats.plot.report import Report

    ctx, report, arch = Context(zoo="zoo", listing=pd.DataFrame()), Report("t"), SimpleNamespace(label="lenet300")
    cannot = InferenceError("paired tests need at least 2 seeds; build more seeds")
    assert reproduce._guarded(ctx, report, "Frankle et al.", arch, _raise(cannot)) is None
    assert ctx.skipped == [{"section": "Frankle et al. (lenet300)", "what": "the whole section",
                            "reason": "InferenceError: paired tests need at least 2 seeds; build more seeds"}]
    for bug in (KeyError("variant"), ValueError("shapes differ"), TypeError("unhashable"), IndexError(0)):
        with pytest.raises(type(bug)):
            reproduce._guarded(ctx, report, "Frankle et al.", arch, _raise(bug))
    assert len(ctx.skipped) == 1
    assert reproduce._guarded(ctx, report, "Frankle et al.", arch, lambda: 42) == 42


def test_a_section_raising_keyerror_crashes_the_report(zoo, tmp_path, monkeypatch):
    from analysis import frankle, reproduce

    def buggy(ctx, report, arch):
        return {}["a bug"]

    monkeypatch.setattr(frankle, "run", buggy)
    with pytest.raises(KeyError, match="a bug"):
        reproduce.build_report(zoo, tmp_path / "r", sections=("frankle",), formats=("svg",))
