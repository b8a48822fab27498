"""``paistats.load`` on a Hub zoo: entries the builder wrote, published, then read back by name,
alias or architecture through a repo id or an ``hf://`` URL."""
from __future__ import annotations

import xarray as xr
from _runs import write_entry

import paistats
from paistats import hub
from paistats.hub.publish import _snapshot_dir

REPO = "pai-lab/store-zoo"


def _same(a: xr.DataTree, b: xr.DataTree) -> None:
    xr.testing.assert_equal(a.compute(), b.compute())


def test_paistats_load_reads_a_repo_id_and_an_hf_url(hub_env, small_zoo):
    zoo, entry = small_zoo
    hub.publish(zoo, REPO)
    local = paistats.load(entry, zoo=zoo)
    _same(paistats.load(entry, zoo=REPO), local)
    _same(paistats.load(entry, zoo=f"hf://datasets/{REPO}"), local)


def test_the_repo_holds_the_entry_snapshot_file_for_file(hub_env, small_zoo):
    zoo, entry = small_zoo
    hub.publish(zoo, REPO)
    snapshot = _snapshot_dir(zoo, entry)
    expected = {p.relative_to(snapshot).as_posix(): p.read_bytes() for p in snapshot.rglob("*") if p.is_file()}
    pulled = hub.pull(REPO, entries=[entry]) / entry
    got = {p.relative_to(pulled).as_posix(): p.read_bytes() for p in pulled.rglob("*") if p.is_file()}
    assert got == expected
    assert ".builder" not in {p.split("/", 1)[0] for p in hub_env.repo(REPO).commits[
        hub_env.repo(REPO).branches["main"]].files}, "builder bookkeeping is never published"


def test_paistats_load_downloads_only_the_requested_entry(hub_env, small_zoo, random_results):
    zoo, entry = small_zoo
    other = write_entry(zoo, random_results)
    hub.publish(zoo, REPO)
    info = paistats.load(entry, zoo=zoo).attrs
    tree = paistats.load(f"{info['arch']}-{info['pruner']}", zoo=REPO)  # the alias resolves through the index
    assert tree.attrs["entry"] == entry
    snapshot = hub.resolve(REPO, entries=[])
    assert (snapshot / entry).is_dir() and not (snapshot / other).exists()
    stacked = paistats.load(info["arch"], zoo=REPO)  # every pruner of the arch, stacked
    _same(stacked, paistats.load(info["arch"], zoo=zoo))
    assert set(stacked["pruner"].values) == {"magnitude", "random"}
