"""Publish / pull a zoo with the real huggingface_hub client against the local test Hub."""
from __future__ import annotations

import json
import zlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
import zarr

from hub_server import HubServer, configure_client_env, git_blob_sha1

from paistats import hub, hub_card

REPO = "pai-lab/zoo"
ENTRIES = ("lenet300-mnist-snip", "lenet300-mnist-synflow")
VARIANTS, SPARSITIES, SEEDS = ["original", "shuffle"], [0.0, 0.5, 0.9], [0, 1]
RUN_DIMS = ["variant", "sparsity", "seed"]


# -- fixtures ----------------------------------------------------------------------------------


def make_entry(zoo: Path, name: str, offset: float = 0.0) -> Path:
    """A small entry store: run coordinates, per-run variables and one sharded tensor group."""
    rng = np.random.default_rng(zlib.crc32(f"{name}{offset}".encode()))
    root = zarr.open_group(zoo / name, mode="w", zarr_format=3)
    arch, dataset, method = name.split("-")
    runs = {f"h{v[0]}{s:g}{k}": {"variant": v, "sparsity": s, "seed": k}
            for v in VARIANTS for s in SPARSITIES for k in SEEDS}
    root.attrs.update(arch=arch, dataset=dataset, method=method, default_dataset=dataset, format_version=1,
                      runs=runs)
    for dim, values in zip(RUN_DIMS, (np.array(VARIANTS, dtype="T"), np.array(SPARSITIES), np.array(SEEDS))):
        root.create_array(dim, data=values, dimension_names=[dim])
    shape = (len(VARIANTS), len(SPARSITIES), len(SEEDS))
    accuracy = root.create_array("accuracy", shape=shape, dtype="f8", dimension_names=RUN_DIMS)
    accuracy[...] = 0.9 + offset - 0.01 * np.arange(np.prod(shape)).reshape(shape)
    density = root.create_array("density", shape=shape[1:] + shape[:1], dtype="f8",
                                dimension_names=["sparsity", "seed", "variant"])  # other dim order
    density[...] = (1 - np.array(SPARSITIES))[:, None, None] * np.ones(density.shape)
    complete = root.create_array("complete", shape=shape, dtype=bool, dimension_names=RUN_DIMS)
    complete[...] = True
    complete[1, 2, 1] = False
    layer = root.create_group("fc1.weight")
    init = layer.create_array("init", shape=(2, 30, 40), chunks=(1, 10, 40), shards=(1, 30, 40), dtype="f4",
                              dimension_names=["seed", "out", "in"])
    init[...] = rng.normal(size=init.shape).astype("f4") + offset
    mask = layer.create_array("mask", shape=shape + (30, 40), chunks=(1, 1, 1, 10, 40), shards=(1, 1, 2, 30, 40),
                              dtype=bool, dimension_names=RUN_DIMS + ["out", "in"])
    mask[...] = rng.random(mask.shape) > 0.5
    return zoo / name


def read_arrays(store) -> dict[str, np.ndarray]:
    """Every array of a Zarr store, by path."""
    group = zarr.open_group(store, mode="r", zarr_format=3)
    return {path: np.asarray(array[...]) for path, array in group.members(max_depth=None)
            if isinstance(array, zarr.Array)}


def assert_same_arrays(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)




@pytest.fixture
def zoo(tmp_path) -> Path:
    """A local zoo with two entries."""
    for name in ENTRIES:
        make_entry(tmp_path / "zoo", name)
    return tmp_path / "zoo"


# -- round trip --------------------------------------------------------------------------------


def test_publish_then_pull_one_entry_gives_identical_arrays(hub_env, zoo):
    info = hub.publish(zoo, REPO)
    assert info is not None and len(info.oid) == 40
    path = hub.pull(REPO, entries=[ENTRIES[0]])
    assert path.is_relative_to(hub.cache_dir())
    assert_same_arrays(read_arrays(path / ENTRIES[0]), read_arrays(zoo / ENTRIES[0]))
    assert not (path / ENTRIES[1]).exists(), "only the requested entry is downloaded"
    assert (path / "README.md").is_file() and (path / "index.json").is_file()


def test_republishing_unchanged_data_uploads_nothing(hub_env, zoo):
    hub.publish(zoo, REPO)
    hub_env.stats.reset()
    assert hub.publish(zoo, REPO) is None
    assert hub_env.stats.files_received == [] and hub_env.stats.commits == 0

    store = zarr.open_group(zoo / ENTRIES[1], mode="r+")
    store["fc1.weight/init"][1, 0, 0] = 42.0  # touches one shard of one entry
    hub.publish(zoo, REPO)
    assert hub_env.stats.files_received == [f"{ENTRIES[1]}/fc1.weight/init/c/1/0/0"]
    assert hub_env.stats.commits == 1


def test_publish_mirrors_deleted_files_and_keeps_other_entries(hub_env, zoo, tmp_path):
    hub.publish(zoo, REPO)
    store = zarr.open_group(zoo / ENTRIES[0], mode="r+")
    del store["fc1.weight/mask"]
    hub.publish(zoo, REPO, entries=[ENTRIES[0]])
    path = hub.pull(REPO)
    assert not (path / ENTRIES[0] / "fc1.weight" / "mask").exists()
    assert_same_arrays(read_arrays(path / ENTRIES[0]), read_arrays(zoo / ENTRIES[0]))
    index = json.loads((path / "index.json").read_text())["entries"]
    assert sorted(index) == sorted(ENTRIES), "an entry published earlier stays in the index"


def test_lazy_hf_url_reads_shards_with_range_requests(hub_env, zoo):
    hub.publish(zoo, REPO)
    hub_env.stats.reset()
    store = hub.open_store(f"hf://datasets/{REPO}/{ENTRIES[0]}")
    group = zarr.open_group(store, mode="r", zarr_format=3)
    np.testing.assert_array_equal(group["fc1.weight/init"][1, :10],
                                  zarr.open_array(zoo / ENTRIES[0] / "fc1.weight" / "init")[1, :10])
    assert_same_arrays(read_arrays(store), read_arrays(zoo / ENTRIES[0]))
    assert hub_env.stats.range_requests > 0
    assert not (hub.cache_dir() / "datasets--pai-lab--zoo").exists(), "hf:// reads download nothing"


def test_lazy_read_with_xarray_open_datatree(hub_env, zoo):
    import xarray as xr
    hub.publish(zoo, REPO)
    tree = xr.open_datatree(hub.open_store(REPO, ENTRIES[0]), engine="zarr", zarr_format=3, consolidated=False)
    local = zarr.open_group(zoo / ENTRIES[0], mode="r")
    np.testing.assert_array_equal(tree["accuracy"].values, local["accuracy"][...])
    np.testing.assert_array_equal(tree["fc1.weight"]["mask"].values, local["fc1.weight/mask"][...])


def test_revision_pins_the_published_data(hub_env, zoo):
    first = hub.publish(zoo, REPO)
    before = read_arrays(zoo / ENTRIES[0])
    zarr.open_group(zoo / ENTRIES[0], mode="r+")["accuracy"][0, 0, 0] = 0.123
    second = hub.publish(zoo, REPO, commit_message="new accuracy")
    assert second.oid != first.oid
    assert_same_arrays(read_arrays(hub.pull(REPO, entries=[ENTRIES[0]], revision=first.oid) / ENTRIES[0]), before)
    latest = hub.pull(REPO, entries=[ENTRIES[0]])
    assert read_arrays(latest / ENTRIES[0])["accuracy"][0, 0, 0] == 0.123
    lazy = hub.open_store(f"hf://datasets/{REPO}@{first.oid}/{ENTRIES[0]}")
    assert_same_arrays(read_arrays(lazy), before)


def test_publish_to_a_branch(hub_env, zoo):
    hub.publish(zoo, REPO, entries=[ENTRIES[0]])
    hub.publish(zoo, REPO, entries=[ENTRIES[1]], revision="dev")
    assert (hub.pull(REPO, revision="dev") / ENTRIES[1] / "zarr.json").is_file()
    with pytest.raises(hub.HubError, match="not in"):
        hub.pull(REPO, entries=[ENTRIES[1]])


# -- metadata: runs table and card -------------------------------------------------------------


def test_runs_table_has_one_row_per_run(hub_env, zoo):
    hub.publish(zoo, REPO)
    path = hub.pull(REPO, entries=[ENTRIES[0]])
    table = pd.read_parquet(path / "runs" / f"{ENTRIES[0]}.parquet")
    assert list(table.columns) == list(hub_card.RUN_COLUMNS)
    assert len(table) == len(VARIANTS) * len(SPARSITIES) * len(SEEDS)
    row = table.set_index(RUN_DIMS).loc[("shuffle", 0.9, 1)]
    assert (row["arch"], row["dataset"], row["method"]) == ("lenet300", "mnist", "snip")
    assert not row["complete"] and row["spec_hash"] == "hs0.91"
    assert row["density"] == pytest.approx(0.1)
    local = zarr.open_group(zoo / ENTRIES[0], mode="r")["accuracy"][...]
    assert row["accuracy"] == local[1, 2, 1]
    assert (path / "runs" / f"{ENTRIES[1]}.parquet").is_file(), "all run tables come with any pull"


def test_dataset_card_metadata_points_the_viewer_at_the_runs(hub_env, zoo):
    hub.publish(zoo, REPO, license="apache-2.0")
    text = (hub.pull(REPO, entries=[]) / "README.md").read_text()
    meta = yaml.safe_load(text.split("---")[1])
    assert meta["license"] == "apache-2.0" and "pruning" in meta["tags"]
    assert meta["configs"][0]["data_files"][0]["path"] == "runs/*.parquet"
    assert all(name in text for name in ENTRIES) and "paistats.load" in text


def test_runs_frame_tolerates_a_store_without_run_variables(tmp_path):
    zarr.open_group(tmp_path / "vgg16-cifar10-snip", mode="w", zarr_format=3)
    frame = hub_card.runs_frame(tmp_path / "vgg16-cifar10-snip")
    assert frame.empty and list(frame.columns) == list(hub_card.RUN_COLUMNS)
    assert hub_card.parquet_bytes(frame) == hub_card.parquet_bytes(frame.copy())


def test_card_rejects_unknown_license():
    with pytest.raises(ValueError, match="license"):
        hub_card.card_text(REPO, {}, license="wtfpl")


# -- offline, unreachable, tokens --------------------------------------------------------------


def test_offline_mode_reads_the_cache_without_network(hub_env, zoo, monkeypatch):
    hub.publish(zoo, REPO)
    online = hub.pull(REPO, entries=[ENTRIES[0]])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    hub_env.stats.reset()
    assert hub.pull(REPO, entries=[ENTRIES[0]]) == online
    assert hub_env.stats.requests == []
    with pytest.raises(hub.HubUnreachableError, match="HF_HUB_OFFLINE"):
        hub.pull(REPO, entries=[ENTRIES[1]])


def test_unreachable_hub_falls_back_to_the_cache_with_a_warning(hub_env, zoo, caplog):
    hub.publish(zoo, REPO)
    online = hub.pull(REPO, entries=[ENTRIES[0]])
    hub_env.stop()
    with caplog.at_level(logging.WARNING, logger="paistats.hub"):
        assert hub.pull(REPO, entries=[ENTRIES[0]]) == online
    assert "unreachable" in caplog.text and "cached copy" in caplog.text
    with pytest.raises(hub.HubUnreachableError) as err:
        hub.pull(REPO, entries=[ENTRIES[1]])
    assert "unreachable" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(hub.HubUnreachableError, match="unreachable"):
        hub.publish(zoo, REPO)


def test_tokens_never_appear_in_errors_or_logs(tmp_path, monkeypatch, zoo, caplog):
    good, wrong = "hf_GoodSecretToken0123456789", "hf_WrongSecretToken9876543210"
    server = HubServer(token=good).start()
    try:
        configure_client_env(monkeypatch, server, tmp_path / "hf-home")
        monkeypatch.setenv("HF_TOKEN", good)  # resolved by huggingface_hub itself
        hub.publish(zoo, REPO, private=True)
        assert f"Bearer {good}" in server.stats.authorizations
        assert (hub.pull(REPO, entries=[ENTRIES[0]]) / ENTRIES[0] / "zarr.json").is_file()

        monkeypatch.setenv("HF_TOKEN", wrong)
        caplog.set_level(logging.DEBUG)
        errors = []
        for call in (lambda: hub.publish(zoo, REPO), lambda: hub.pull(REPO, revision="other")):
            with pytest.raises(hub.HubError) as err:
                call()
            errors.append(err.value)
        for error in errors:
            assert wrong not in str(error) and good not in str(error) and "\n" not in str(error)
            assert error.__cause__ is None
        assert "not authorized" in str(errors[0])
        assert wrong not in caplog.text and good not in caplog.text
    finally:
        server.stop()


# -- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize("repo_id", ["zoo", "org/../zoo", "org/zoo/extra", "../zoo", "org/", "org/zo o", ""])
def test_bad_repo_ids_are_rejected(repo_id, tmp_path):
    with pytest.raises(ValueError, match="org/name"):
        hub.publish(tmp_path, repo_id)
    with pytest.raises(ValueError, match="org/name"):
        hub.pull(repo_id)


@pytest.mark.parametrize("entry", ["../x", "a/b", "..", ".hidden", "a\\b", ""])
def test_bad_entry_names_are_rejected(entry, tmp_path):
    with pytest.raises(ValueError, match="entry name"):
        hub.pull(REPO, entries=[entry])


def test_publish_rejects_unknown_entries(zoo):
    with pytest.raises(FileNotFoundError, match="available"):
        hub.publish(zoo, REPO, entries=["resnet20-cifar10-snip"])


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
    with pytest.raises(ValueError, match="dataset repo"):
        hub.parse_ref("hf://models/org/zoo")


def test_resolve_downloads_the_named_entry(hub_env, zoo):
    hub.publish(zoo, REPO)
    path = hub.resolve(f"hf://datasets/{REPO}/{ENTRIES[1]}")
    assert (path / ENTRIES[1] / "zarr.json").is_file() and not (path / ENTRIES[0]).exists()
    with pytest.raises(ValueError, match="two revisions"):
        hub.resolve(f"{REPO}@a", revision="b")


# -- a fresh process configured only by the environment ----------------------------------------


def test_fresh_process_uses_hf_endpoint_and_hf_home_from_the_environment(hub_env, zoo, tmp_path):
    hub.publish(zoo, REPO)
    env = {**os.environ, "HF_HOME": str(tmp_path / "other-home"), "PYTHONPATH": str(Path(__file__).parents[1])}
    code = f"from paistats import hub; print(hub.pull({REPO!r}, entries=[{ENTRIES[0]!r}]))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    path = Path(out.stdout.strip().splitlines()[-1])
    assert path.is_relative_to(tmp_path / "other-home" / "hub")
    assert_same_arrays(read_arrays(path / ENTRIES[0]), read_arrays(zoo / ENTRIES[0]))
    blob = (zoo / ENTRIES[0] / "zarr.json").read_bytes()
    assert git_blob_sha1(blob) == hub.git_blob_sha1(zoo / ENTRIES[0] / "zarr.json")
