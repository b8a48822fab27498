"""Publish / pull entries written by the real store writer (``paistats.store``), no torch needed."""
from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import pytest
import zarr


import paistats
from paistats import hub
from paistats.store import manifest, writer
from paistats.store.plan import EntryPlan, RunPayload, TensorSpec  # noqa: E402

REPO = "pai-lab/store-zoo"
ENTRY = "tiny-digits-snip"
TENSORS = (TensorSpec("fc.weight", (4, 6), "float32", True), TensorSpec("fc.bias", (4,), "float32", False))
CELLS = [(v, s, 0) for v in ("original", "shuffle") for s in (0.0, 0.5)]


def _hash(cell) -> str:
    return hashlib.sha256(repr(cell).encode()).hexdigest()[:16]


def _payload(cell) -> RunPayload:
    variant, sparsity, seed = cell
    rng = np.random.default_rng(int(sparsity * 10) + len(variant))
    state = {t.name: rng.normal(size=t.shape).astype("f4") for t in TENSORS}
    mask = rng.random((4, 6)) >= sparsity
    return RunPayload(hash=_hash(cell), variant=variant, sparsity=sparsity, seed=seed, initial=state, reinit=state,
                      trained=state, scores={"fc.weight": np.abs(state["fc.weight"])}, masks={"fc.weight": mask},
                      history={"test_accuracy": [0.5, 0.6], "test_loss": [1.0, 0.9], "train_loss": [1.1, 1.0]},
                      accuracy=0.6 + sparsity / 10, density=float(mask.mean()), seconds=1.0)


@pytest.fixture
def store_zoo(tmp_path):
    """A zoo written by the store writer: 4 planned runs, 3 complete, finalized."""
    zoo = tmp_path / "zoo"
    plan = EntryPlan(entry=ENTRY, arch="tiny", dataset="digits", method="snip", default_dataset="digits", epochs=2,
                     tensors=TENSORS, score_dtype="float32", runs={_hash(c): c for c in CELLS},
                     config={"recipe": {"name": "smoke"}, "per_class": 10, "iterations": None})
    writer.plan_entry(zoo, plan)
    for cell in CELLS[:3]:
        writer.write_run(zoo, ENTRY, _payload(cell))
    manifest.finalize(zoo, ENTRY)
    return zoo




def test_pulled_store_entry_matches_its_manifest_and_runs_table(hub_env, store_zoo):
    hub.publish(store_zoo, REPO)
    path = hub.pull(REPO, entries=[ENTRY])
    report = manifest.verify_path(path / ENTRY)
    assert report.ok, str(report)
    assert (path / "index.json").is_file()
    table = pd.read_parquet(path / "runs" / f"{ENTRY}.parquet").set_index(["variant", "sparsity", "seed"])
    assert len(table) == len(CELLS) and table["complete"].sum() == 3
    for cell in CELLS[:3]:
        row = table.loc[cell]
        assert row["spec_hash"] == _hash(cell) and row["accuracy"] == pytest.approx(_payload(cell).accuracy)
    assert not table.loc[CELLS[3], "complete"] and math.isnan(table.loc[CELLS[3], "accuracy"])
    local = zarr.open_group(store_zoo / ENTRY, mode="r")
    remote = zarr.open_group(hub.open_store(REPO, ENTRY), mode="r")
    np.testing.assert_array_equal(remote["fc.weight/mask"][...], local["fc.weight/mask"][...])


def test_paistats_load_reads_a_hub_repo_id(hub_env, store_zoo):
    load = paistats.load
    hub.publish(store_zoo, REPO)
    local = load(ENTRY, zoo=store_zoo)
    remote = load(ENTRY, zoo=REPO)
    np.testing.assert_array_equal(remote["accuracy"].values, local["accuracy"].values)
    np.testing.assert_array_equal(remote["fc.weight"]["mask"].values, local["fc.weight"]["mask"].values)


def test_paistats_load_reads_an_hf_url(hub_env, store_zoo):
    load = paistats.load
    hub.publish(store_zoo, REPO)
    remote = load(ENTRY, zoo=f"hf://datasets/{REPO}")
    assert remote["accuracy"].shape == load(ENTRY, zoo=store_zoo)["accuracy"].shape


def test_paistats_load_downloads_only_the_requested_entry(hub_env, tmp_path):
    zoo = tmp_path / "two"
    for entry in (ENTRY, "tiny-digits-magnitude"):
        plan = EntryPlan(entry=entry, arch="tiny", dataset="digits", method=entry.rsplit("-", 1)[1],
                         default_dataset="digits", epochs=2, tensors=TENSORS, score_dtype="float32",
                         runs={_hash(c): c for c in CELLS},
                         config={"recipe": {"name": "smoke"}, "per_class": 10, "iterations": None})
        writer.plan_entry(zoo, plan)
        writer.write_run(zoo, entry, _payload(CELLS[0]))
        manifest.finalize(zoo, entry)
    hub.publish(zoo, REPO)
    tree = paistats.load("tiny-snip", zoo=REPO)  # the alias resolves through the pulled index
    assert tree.attrs["entry"] == ENTRY
    snapshot = hub.resolve(REPO, entries=[])
    assert (snapshot / ENTRY).is_dir() and not (snapshot / "tiny-digits-magnitude").exists()
    assert bool(tree["complete"].sel(variant="original", sparsity=0.0, seed=0))
