"""Publish / pull entries written by the builder's store, with the real huggingface_hub client
against the local test Hub (``tests/hub_server.py``), which logs every request."""
from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml
import zarr
from _runs import make_spec, write_entry
from hub_server import HubServer, configure_client_env, is_binary

import paistats
from paistats import hub
from paistats.hub import card
from paistats.hub.publish import _snapshot_dir

REPO = "pai-lab/zoo"


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zoo_template(tmp_path_factory, small_results, random_results):
    """Two real finalized entries and their publish snapshots, written once per module."""
    zoo = tmp_path_factory.mktemp("template") / "zoo"
    entries = (write_entry(zoo, small_results[:4]), write_entry(zoo, random_results))
    for entry in entries:
        _snapshot_dir(zoo, entry)
    return zoo, entries


@pytest.fixture
def zoo(zoo_template, tmp_path):
    """A copy of the template zoo; returns (zoo_dir, (magnitude entry, random entry))."""
    src, entries = zoo_template
    shutil.copytree(src, tmp_path / "zoo", symlinks=True)
    return tmp_path / "zoo", entries


def published_files(zoo: Path, entry: str) -> dict[str, bytes]:
    """Repo path → bytes of every file publish sends for ``entry`` (its snapshot)."""
    folder = _snapshot_dir(zoo, entry)
    return {f"{entry}/{p.relative_to(folder).as_posix()}": p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_same_values(a: xr.DataTree, b: xr.DataTree) -> None:
    """Same nodes, variables, coordinates and values (attributes aside: a snapshot notes its layout)."""
    assert sorted(n.path for n in a.subtree) == sorted(n.path for n in b.subtree)
    xr.testing.assert_equal(a.compute(), b.compute())


def one_line(err: BaseException) -> str:
    text = str(err)
    assert text and "\n" not in text and err.__cause__ is None
    assert err.__context__ is None or err.__suppress_context__, "no chained traceback"
    assert isinstance(err, paistats.ZooError)
    return text


# -- round trip --------------------------------------------------------------------------------


def test_publish_pull_load_gives_identical_values(hub_env, zoo):
    zoo_dir, (first, second) = zoo
    info = hub.publish(zoo_dir, REPO)
    assert info is not None and len(info.oid) == 40
    path = hub.pull(REPO, entries=[first])
    assert path.is_relative_to(hub.cache_dir())
    assert not (path / second).exists(), "only the requested entry is downloaded"
    assert (path / "README.md").is_file() and (path / "index.json").is_file()
    pulled = paistats.load(first, zoo=path)
    assert_same_values(pulled, paistats.load(first, zoo=zoo_dir))
    assert paistats.verify(path / first).ok, "every file matches the published manifest"
    assert_same_values(paistats.load(second, zoo=REPO), paistats.load(second, zoo=zoo_dir))


def test_binary_files_go_through_lfs_and_text_files_inline(hub_env, zoo):
    zoo_dir, entries = zoo
    hub.publish(zoo_dir, REPO)
    files = {p: b for e in entries for p, b in published_files(zoo_dir, e).items()}
    binary = {p for p, b in files.items() if b and is_binary(b[:512])}
    stats = hub_env.stats
    groups = set(paistats.layers(paistats.load(entries[0], zoo=zoo_dir))) | {"state"}
    chunks = {p for p in files if "/c/" in p and p.split("/")[1] in groups}
    assert chunks and chunks <= binary, "compressed tensor chunks and shards are binary"
    runs_tables = {card.runs_path(e) for e in entries}
    assert set(stats.lfs_files_committed) == binary | runs_tables
    assert set(stats.files_received) == (set(files) - binary) | {"index.json", "README.md"}
    assert all(not is_binary(files[p][:512]) for p in set(stats.files_received) & set(files))
    objects = {hub_env.repo(REPO).commits[hub_env.repo(REPO).branches["main"]].files[p].sha256
               for p in stats.lfs_files_committed}
    assert set(stats.lfs_uploads) == objects, "every LFS object is PUT (identical files may share one)"
    assert stats.lfs_verifies == len(stats.lfs_uploads) <= len(stats.lfs_files_committed)
    assert any("/info/lfs/objects/batch" in path for _, path in stats.requests)


def test_republishing_unchanged_data_uploads_nothing(hub_env, zoo):
    zoo_dir, entries = zoo
    hub.publish(zoo_dir, REPO)
    lfs_files = len(hub_env.stats.lfs_files_committed)
    hub_env.stats.reset()
    assert hub.publish(zoo_dir, REPO) is None
    stats = hub_env.stats
    assert stats.lfs_uploads == [] and stats.files_received == [] and stats.commits == 0
    # the client did offer every file: the Hub's preupload answer (oid) and the LFS batch answer
    # (no upload action for a stored object) are what skipped them
    assert stats.preupload_files == sum(len(published_files(zoo_dir, e)) for e in entries) + 2 + len(entries)
    assert stats.lfs_batch_objects == lfs_files


def test_a_grown_entry_uploads_only_new_and_changed_files(hub_env, zoo, small_results):
    zoo_dir, (first, second) = zoo
    hub.publish(zoo_dir, REPO)
    before = published_files(zoo_dir, first)
    write_entry(zoo_dir, small_results[4:])  # a new seed and a new sparsity
    after = published_files(zoo_dir, first)
    changed = {p for p, b in after.items() if before.get(p) != b}
    assert changed and len(changed) < len(after)
    hub_env.stats.reset()
    hub.publish(zoo_dir, REPO)
    stats = hub_env.stats
    meta = {card.runs_path(first), card.runs_path(second), "index.json", "README.md"}
    committed = set(stats.lfs_files_committed) | set(stats.files_received)
    assert committed - meta == changed
    assert set(stats.lfs_uploads) <= {hub_env.repo(REPO).commits[hub_env.repo(REPO).branches["main"]].files[p].sha256
                                      for p in committed}
    assert not any(p.startswith(f"{second}/") for p in committed), "the other entry is untouched"
    assert_same_values(paistats.load(first, zoo=hub.pull(REPO, entries=[first])), paistats.load(first, zoo=zoo_dir))


def test_commits_hold_at_most_files_per_commit(hub_env, zoo, monkeypatch):
    publish_mod = importlib.import_module("paistats.hub.publish")
    zoo_dir, entries = zoo
    monkeypatch.setattr(publish_mod, "FILES_PER_COMMIT", 7)
    hub.publish(zoo_dir, REPO)
    repo = hub_env.repo(REPO)
    commits = [c for c in repo.commits.values() if c.message.startswith("Publish")]
    n_files = sum(len(published_files(zoo_dir, e)) for e in entries) + len(entries) + 2
    assert len(commits) == hub_env.stats.commits in (-(-n_files // 7), -(-n_files // 7) + 1)
    sizes = []
    for commit in commits:
        parent = repo.commits[commit.parent].files
        sizes.append(len({p for p, ref in commit.files.items() if parent.get(p) != ref}))
    assert sum(sizes) == n_files and max(sizes) <= 7 and min(sizes) > 0
    head = repo.commits[repo.branches["main"]]
    last_added = set(head.files) - set(repo.commits[head.parent].files)
    assert {"README.md", "index.json"} <= last_added, "the card and index come with the last commit"
    assert_same_values(paistats.load(entries[0], zoo=REPO), paistats.load(entries[0], zoo=zoo_dir))


def test_deleting_an_entry_locally_removes_it_with_prune(hub_env, zoo):
    zoo_dir, (first, second) = zoo
    hub.publish(zoo_dir, REPO)
    shutil.rmtree(zoo_dir / second)
    assert hub.publish(zoo_dir, REPO) is None, "without prune, remote entries stay"
    hub_env.stats.reset()
    hub.publish(zoo_dir, REPO, prune=True)
    assert sorted(hub_env.stats.deleted) == sorted([f"{second}/", card.runs_path(second)])
    assert hub_env.stats.lfs_uploads == []
    path = hub.pull(REPO)
    assert not (path / second).exists() and not (path / card.runs_path(second)).exists()
    assert sorted(json.loads((path / "index.json").read_text())["entries"]) == [first]
    assert second not in (path / "README.md").read_text()
    with pytest.raises(hub.HubError, match="not in"):
        hub.pull(REPO, entries=[second])


def test_files_gone_from_an_entry_are_deleted_remotely(hub_env, zoo):
    zoo_dir, (first, _) = zoo
    hub.publish(zoo_dir, REPO)
    # a stale remote file, as left by an earlier layout of the entry
    from huggingface_hub import CommitOperationAdd, HfApi

    HfApi(endpoint=hub_env.url).create_commit(REPO, [CommitOperationAdd(f"{first}/old/c/0", b"\0stale")],
                                              commit_message="stale", repo_type="dataset")
    hub_env.stats.reset()
    hub.publish(zoo_dir, REPO)
    assert hub_env.stats.deleted == [f"{first}/old/c/0"] and hub_env.stats.uploads == 0
    assert not (hub.pull(REPO, entries=[first]) / first / "old").exists()


def test_only_finalized_entries_are_published(hub_env, zoo):
    zoo_dir, (first, _) = zoo
    (zoo_dir / first / "manifest.json").unlink()
    with pytest.raises(paistats.ManifestError, match="finalize"):
        hub.publish(zoo_dir, REPO)
    assert hub_env.stats.requests == [], "local problems are found before any request"


def test_lazy_hf_url_reads_one_run_with_range_requests(hub_env, zoo):
    zoo_dir, (first, _) = zoo
    hub.publish(zoo_dir, REPO)
    hub_env.stats.reset()
    store = hub.open_store(f"hf://datasets/{REPO}/{first}")
    tree = xr.open_datatree(store, engine="zarr", zarr_format=3)
    local = paistats.load(first, zoo=zoo_dir)
    layer = paistats.layers(local)[0]
    shards = tree[layer]["mask"].encoding["shards"]
    assert shards and np.prod(shards[:3]) > 1, "the published layout holds several runs per shard"
    one = {"variant": 0, "sparsity": 0, "seed": 0}
    np.testing.assert_array_equal(tree[layer]["mask"].isel(one).values, local[layer]["mask"].isel(one).values)
    assert hub_env.stats.range_requests > 0, "one run of a shard is read with Range requests"
    np.testing.assert_array_equal(tree[layer]["trained"].values, local[layer]["trained"].values)
    np.testing.assert_array_equal(tree["accuracy"].values, local["accuracy"].values)
    assert not (hub.cache_dir() / "datasets--pai-lab--zoo").exists(), "hf:// reads download nothing"


def test_revision_pins_the_published_data(hub_env, zoo, small_results):
    zoo_dir, (first, _) = zoo
    one = hub.publish(zoo_dir, REPO)
    before = paistats.load(first, zoo=zoo_dir).compute()
    write_entry(zoo_dir, small_results[4:5])
    two = hub.publish(zoo_dir, REPO, commit_message="one more seed")
    assert two.oid != one.oid
    assert_same_values(paistats.load(first, zoo=REPO, revision=one.oid), before)
    assert paistats.load(first, zoo=REPO)["seed"].size == before["seed"].size + 1
    lazy = xr.open_datatree(hub.open_store(f"hf://datasets/{REPO}@{one.oid}/{first}"), engine="zarr")
    np.testing.assert_array_equal(lazy["accuracy"].values, before["accuracy"].values)


def test_publish_to_a_branch(hub_env, zoo):
    zoo_dir, (first, second) = zoo
    hub.publish(zoo_dir, REPO, entries=[first])
    hub.publish(zoo_dir, REPO, entries=[second], revision="dev")
    assert (hub.pull(REPO, revision="dev") / second / "zarr.json").is_file()
    with pytest.raises(hub.HubError, match="not in"):
        hub.pull(REPO, entries=[second])
    with pytest.raises(hub.HubError, match="branch"):
        hub.publish(zoo_dir, REPO, revision="0" * 40)


def test_pull_without_tensors_skips_the_tensor_groups(hub_env, zoo):
    zoo_dir, (first, _) = zoo
    hub.publish(zoo_dir, REPO)
    path = hub.pull(REPO, entries=[first], tensors=False)
    layer = paistats.layers(paistats.load(first, zoo=zoo_dir))[0]
    assert (path / first / "zarr.json").is_file() and not (path / first / layer).exists()
    assert not (path / first / "state").exists()
    tree = paistats.load(first, zoo=REPO, tensors=False)
    np.testing.assert_array_equal(tree["accuracy"].values, paistats.load(first, zoo=zoo_dir)["accuracy"].values)
    every = hub.pull(REPO, tensors=False)  # every entry the index lists
    assert all((every / e / "accuracy" / "zarr.json").is_file() and not (every / e / layer).exists()
               for e in zoo[1])


# -- metadata: runs table and card -------------------------------------------------------------


def test_runs_table_matches_the_reader(hub_env, zoo):
    zoo_dir, (first, second) = zoo
    hub.publish(zoo_dir, REPO)
    path = hub.pull(REPO, entries=[])
    table = pd.read_parquet(path / "runs" / f"{first}.parquet")
    assert list(table.columns) == list(card.RUN_COLUMNS)
    tree = paistats.load(first, zoo=zoo_dir)
    runs = tree.attrs["runs"]
    assert len(table) == len(runs) == 4
    for spec_hash, cell in runs.items():
        row = table.set_index("spec_hash").loc[spec_hash]
        assert (row["variant"], row["sparsity"], row["seed"]) == (cell["variant"], cell["sparsity"], cell["seed"])
        sel = tree.sel(variant=cell["variant"], sparsity=cell["sparsity"], seed=cell["seed"])
        assert row["accuracy"] == float(sel["accuracy"]) and row["density"] == float(sel["density"])
        assert row["complete"] and (row["arch"], row["dataset"], row["method"]) == (
            tree.attrs["arch"], tree.attrs["dataset"], tree.attrs["pruner"])
    assert (path / "runs" / f"{second}.parquet").is_file(), "all run tables come with any pull"
    assert pd.read_parquet(path / "runs" / f"{second}.parquet").columns.equals(table.columns), "one schema"


def test_dataset_card_metadata_points_the_viewer_at_the_runs(hub_env, zoo):
    zoo_dir, entries = zoo
    hub.publish(zoo_dir, REPO, license="apache-2.0")
    text = (hub.pull(REPO, entries=[]) / "README.md").read_text()
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["license"] == "apache-2.0" and "pruning" in meta["tags"]
    assert meta["configs"][0]["data_files"][0]["path"] == "runs/*.parquet"
    assert all(name in text for name in entries) and "paistats.load" in text


def test_card_refuses_what_the_reader_refuses(tmp_path):
    zarr.open_group(tmp_path / "vgg16-cifar10-snip", mode="w", zarr_format=3)
    with pytest.raises(paistats.ZooError):
        card.runs_frame(tmp_path / "vgg16-cifar10-snip")
    with pytest.raises(ValueError, match="license"):
        card.card_text(REPO, {}, license="wtfpl")


# -- offline, unreachable, tokens --------------------------------------------------------------


def test_offline_mode_reads_the_cache_without_network(hub_env, zoo, monkeypatch):
    zoo_dir, (first, second) = zoo
    hub.publish(zoo_dir, REPO)
    online = hub.pull(REPO, entries=[first])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_env.stats.reset()
    assert hub.pull(REPO, entries=[first]) == online
    assert hub_env.stats.requests == []
    with pytest.raises(hub.HubUnreachableError, match="HF_HUB_OFFLINE"):
        hub.pull(REPO, entries=[second])


def test_unreachable_hub_falls_back_to_the_cache_with_a_warning(hub_env, zoo, caplog):
    zoo_dir, (first, second) = zoo
    hub.publish(zoo_dir, REPO)
    online = hub.pull(REPO, entries=[first])
    hub_env.stop()
    with caplog.at_level(logging.WARNING, logger="paistats.hub"):
        assert hub.pull(REPO, entries=[first]) == online
    assert "unreachable" in caplog.text and "cached copy" in caplog.text
    with pytest.raises(hub.HubUnreachableError) as err:
        hub.pull(REPO, entries=[second])
    assert "unreachable" in one_line(err.value)
    with pytest.raises(hub.HubUnreachableError) as err:
        hub.publish(zoo_dir, REPO)
    assert "unreachable" in one_line(err.value) and "HF_ENDPOINT" in str(err.value)


def test_tokens_never_appear_in_errors_or_logs(tmp_path, monkeypatch, zoo, caplog):
    zoo_dir, (first, _) = zoo
    good, wrong = "hf_GoodSecretToken0123456789", "hf_WrongSecretToken9876543210"
    server = HubServer(token=good).start()
    try:
        configure_client_env(monkeypatch, server, tmp_path / "hf-home")
        monkeypatch.setenv("HF_TOKEN", good)  # resolved by huggingface_hub itself
        hub.publish(zoo_dir, REPO, private=True)
        assert f"Bearer {good}" in server.stats.authorizations and server.stats.lfs_uploads
        assert (hub.pull(REPO, entries=[first]) / first / "zarr.json").is_file()

        monkeypatch.setenv("HF_TOKEN", wrong)
        caplog.set_level(logging.DEBUG)
        errors = []
        for call in (lambda: hub.publish(zoo_dir, REPO), lambda: hub.pull(REPO, revision="other")):
            with pytest.raises(hub.HubError) as err:
                call()
            errors.append(err.value)
        for error in errors:
            text = one_line(error)
            assert wrong not in text and good not in text
        assert "not authorized" in str(errors[0]) or "not found" in str(errors[0])
        assert wrong not in caplog.text and good not in caplog.text
    finally:
        server.stop()


# -- bad input: one line each, all paistats.ZooError ---------------------------------------------


@pytest.mark.parametrize("repo_id", ["zoo", "org/../zoo", "org/zoo/extra", "../zoo", "org/", "org/zo o", ""])
def test_bad_repo_ids_are_rejected(repo_id, tmp_path):
    for call in (lambda: hub.publish(tmp_path, repo_id), lambda: hub.pull(repo_id)):
        with pytest.raises(hub.InvalidRepoIdError) as err:
            call()
        assert "org/name" in one_line(err.value) and isinstance(err.value, ValueError)


def test_unknown_repo_and_revision_give_one_line(hub_env, zoo):
    zoo_dir, (first, _) = zoo
    with pytest.raises(hub.HubError) as err:
        hub.pull("pai-lab/nothing-here")
    assert "not found" in one_line(err.value)
    hub.publish(zoo_dir, REPO, entries=[first])
    with pytest.raises(hub.HubError) as err:
        hub.pull(REPO, revision="no-such-branch")
    assert "revision 'no-such-branch' not found" in one_line(err.value)
    for bad in ("", "../main", "/main", " main"):
        with pytest.raises(hub.InvalidRevisionError) as err:
            hub.pull(REPO, revision=bad)
        one_line(err.value)
    with pytest.raises(paistats.UnknownEntryError) as err:
        hub.publish(zoo_dir, REPO, entries=["resnet20-cifar10-snip"])
    assert "available" in one_line(err.value)
    with pytest.raises(paistats.ZooNotFoundError):
        hub.publish(zoo_dir / "nope", REPO)


@pytest.mark.parametrize("entry", ["../x", "a/b", "..", ".hidden", "a\\b", ""])
def test_bad_entry_names_are_rejected(entry):
    with pytest.raises(paistats.InvalidNameError, match="entry name"):
        hub.pull(REPO, entries=[entry])


@pytest.mark.parametrize(("zoo", "expected"), [
    ("hf://datasets/org/zoo", hub.HubRef("org/zoo")),
    ("hf://datasets/org/zoo@v1.0/lenet300-mnist-snip", hub.HubRef("org/zoo", "v1.0", "lenet300-mnist-snip")),
    ("org/zoo@abc", hub.HubRef("org/zoo", "abc")),
    ("datasets/org/zoo", hub.HubRef("org/zoo")),
])
def test_parse_ref(zoo, expected):
    assert hub.parse_ref(zoo) == expected
    assert hub.is_hub_ref(zoo)


def test_is_hub_ref_prefers_existing_local_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "org" / "zoo").mkdir(parents=True)
    assert not hub.is_hub_ref("org/zoo") and hub.is_hub_ref("org/other")
    assert not hub.is_hub_ref("./org/zoo") and not hub.is_hub_ref("zoo") and not hub.is_hub_ref(tmp_path)
    with pytest.raises(hub.InvalidRepoIdError, match="dataset repo"):
        hub.parse_ref("hf://models/org/zoo")


def test_resolve_downloads_the_named_entry(hub_env, zoo):
    zoo_dir, (first, second) = zoo
    hub.publish(zoo_dir, REPO)
    path = hub.resolve(f"hf://datasets/{REPO}/{second}")
    assert (path / second / "zarr.json").is_file() and not (path / first).exists()
    with pytest.raises(hub.HubError, match="two revisions"):
        hub.resolve(f"{REPO}@a", revision="b")


# -- list_zoo reads the index alone -------------------------------------------------------------


def hub_requests(server) -> list[str]:
    """Paths (without query) of every request the test Hub saw."""
    return [path.split("?", 1)[0] for _, path in server.stats.requests]


def remote_index(server) -> dict:
    """The ``index.json`` the test Hub holds on ``main``."""
    repo = server.repo(REPO)
    return json.loads(repo.text_of(repo.resolve("main"), "index.json"))


def test_list_zoo_on_the_hub_downloads_only_the_index(hub_env, zoo):
    zoo_dir, entries = zoo
    hub.publish(zoo_dir, REPO)
    hub_env.stats.reset()
    listed = paistats.list_zoo(f"hf://datasets/{REPO}")
    requests = hub_requests(hub_env)
    downloads = [p for p in requests if "/resolve/" in p]
    assert downloads and set(downloads) == {f"/datasets/{REPO}/resolve/main/index.json"}, requests
    assert len(downloads) <= 2, "one HEAD and one GET"
    assert set(requests) - set(downloads) == {f"/api/datasets/{REPO}/revision/main"}, "repo info only"
    pd.testing.assert_frame_equal(listed, paistats.list_zoo(zoo_dir))
    assert list(listed.index) == sorted(entries) and listed["finalized"].all()
    # the index names each entry's published manifest
    index = remote_index(hub_env)
    for entry in entries:
        manifest = (_snapshot_dir(zoo_dir, entry) / "manifest.json").read_bytes()
        assert index["entries"][entry]["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert index["format_version"] == card.INDEX_FORMAT_VERSION


def test_push_keeps_the_listing_index_current(hub_env, zoo, small_results):
    zoo_dir, (first, second) = zoo
    hub.publish(zoo_dir, REPO, entries=[first])
    assert list(paistats.list_zoo(REPO).index) == [first]
    before = paistats.list_zoo(REPO).loc[first, "planned"]
    write_entry(zoo_dir, small_results[4:])  # the entry grows: a new seed and a new sparsity
    hub.publish(zoo_dir, REPO)
    listed = paistats.list_zoo(REPO)
    assert list(listed.index) == sorted([first, second]) and listed.loc[first, "planned"] > before
    assert remote_index(hub_env)["entries"][first]["planned"] == listed.loc[first, "planned"], "read from the index"
    pd.testing.assert_frame_equal(listed, paistats.list_zoo(zoo_dir))
    shutil.rmtree(zoo_dir / second)
    hub.publish(zoo_dir, REPO, prune=True)
    assert list(paistats.list_zoo(REPO).index) == [first]


def test_list_zoo_without_the_listing_index_falls_back_with_a_warning(hub_env, zoo, caplog):
    zoo_dir, entries = zoo
    hub.publish(zoo_dir, REPO)
    from huggingface_hub import CommitOperationAdd, HfApi

    card_fields = ("arch", "dataset", "method", "default_dataset", "variant", "sparsity", "seed", "runs", "complete")
    old = {"format_version": 1, "entries": {e: {k: rec[k] for k in card_fields}
                                            for e, rec in remote_index(hub_env)["entries"].items()}}
    HfApi(endpoint=hub_env.url).create_commit(REPO, [CommitOperationAdd("index.json", json.dumps(old).encode())],
                                              commit_message="an index of an older paistats", repo_type="dataset")
    hub_env.stats.reset()
    with caplog.at_level(logging.WARNING, logger="paistats.zoo"):
        listed = paistats.list_zoo(REPO)
    assert "listing from the entries" in caplog.text and len(caplog.records) == 1
    assert any("/resolve/" in p and not p.endswith("index.json") for p in hub_requests(hub_env))
    pd.testing.assert_frame_equal(listed, paistats.list_zoo(zoo_dir))


def test_list_zoo_offline_reads_the_cached_index(hub_env, zoo, monkeypatch):
    zoo_dir, _ = zoo
    hub.publish(zoo_dir, REPO)
    online = paistats.list_zoo(REPO)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_env.stats.reset()
    pd.testing.assert_frame_equal(paistats.list_zoo(REPO), online)
    assert hub_env.stats.requests == []


def test_list_zoo_with_the_hub_unreachable_reads_the_cached_index_with_a_warning(hub_env, zoo, caplog):
    zoo_dir, _ = zoo
    hub.publish(zoo_dir, REPO)
    online = paistats.list_zoo(REPO)
    hub_env.stop()
    with caplog.at_level(logging.WARNING, logger="paistats.hub"):
        pd.testing.assert_frame_equal(paistats.list_zoo(REPO), online)
    assert "unreachable" in caplog.text and "using the cached index.json" in caplog.text
    with pytest.raises(hub.HubUnreachableError) as err:
        paistats.list_zoo("pai-lab/other")
    assert "no complete cached copy" in one_line(err.value)


# -- a fresh process configured only by the environment ----------------------------------------


def test_fresh_process_uses_hf_endpoint_and_hf_home_from_the_environment(hub_env, zoo, tmp_path):
    zoo_dir, (first, _) = zoo
    hub.publish(zoo_dir, REPO)
    env = {**os.environ, "HF_HOME": str(tmp_path / "other-home"), "PYTHONPATH": str(Path(__file__).parents[1])}
    code = f"from paistats import hub; print(hub.pull({REPO!r}, entries=[{first!r}]))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path.is_relative_to(tmp_path / "other-home" / "hub")
    assert_same_values(paistats.load(first, zoo=path), paistats.load(first, zoo=zoo_dir))
