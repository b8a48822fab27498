"""Writing entries: plan/grow, exact round trip, idempotence, failures, manifest and verify."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import paistats
from paistats.store.layout import MANIFEST_FILE


def _files(path):
    out = {}
    for d, _, fs in os.walk(path):
        for f in fs:
            p = os.path.join(d, f)
            out[os.path.relpath(p, path)] = open(p, "rb").read()
    return out


def test_plan_is_idempotent_and_indexes_the_entry(tmp_path, tiny_recipe, spec_factory):
    from zoo_builder import store

    specs = [spec_factory(v, s, 0, tiny_recipe) for v in ("original", "shuffle") for s in (0.0, 0.9)]
    zoo = tmp_path / "zoo"
    assert store.plan_entries(zoo, specs) == ["mnist1d_mlp-mnist1d-magnitude"]
    before = _files(zoo / "mnist1d_mlp-mnist1d-magnitude")
    store.plan_entries(zoo, specs[:2])
    assert _files(zoo / "mnist1d_mlp-mnist1d-magnitude").keys() == before.keys()
    index = json.loads((zoo / "index.json").read_text())
    assert index["entries"]["mnist1d_mlp-mnist1d-magnitude"]["default_dataset"] == "mnist1d"
    assert store.completed(zoo, "mnist1d_mlp-mnist1d-magnitude") == set()
    tree = paistats.load("mnist1d_mlp-magnitude", zoo=zoo)
    assert list(tree["variant"].values) == ["original", "shuffle"]
    assert not tree["complete"].values.any()
    assert np.isnan(tree["fc.0.weight"]["trained"].values).all()


def test_written_run_loads_back_bit_identical(small_zoo, small_results):
    zoo, entry = small_zoo
    tree = paistats.load(entry, zoo=zoo)
    for r in small_results[:4]:
        cell = dict(variant=r.spec.variant, sparsity=r.spec.sparsity, seed=r.spec.seed)
        for name, w in r.trained.items():
            node = tree[name] if name in r.masks else tree[f"state/{name}"]
            np.testing.assert_array_equal(node["trained"].sel(cell).values, w.numpy())
            np.testing.assert_array_equal(node["init"].sel(seed=r.spec.seed).values, r.initial[name].numpy())
            np.testing.assert_array_equal(node["reinit"].sel(seed=r.spec.seed).values, r.reinit[name].numpy())
        for name, m in r.masks.items():
            np.testing.assert_array_equal(tree[name]["mask"].sel(cell).values, m.numpy())
            np.testing.assert_array_equal(tree[name]["score"].sel(seed=r.spec.seed).values, r.scores[name].numpy())
        assert tree["accuracy"].sel(cell).values.item() == r.accuracy
        assert tree["density"].sel(cell).values.item() == r.density
        np.testing.assert_array_equal(tree["test_loss"].sel(cell).values, r.history["test_loss"])
        assert tree["device"].sel(cell).values.item() == "cpu" and not tree["amp"].sel(cell).values.item()
        assert not tree["disconnected"].sel(cell).values.item()
    assert tree["complete"].values.all()
    assert tree.attrs["runs"].keys() == {r.spec.hash for r in small_results[:4]}
    assert tree.attrs["format_version"] == 2 and tree.attrs["recipe"]["epochs"] == 1
    assert tree["fc.0.weight"]["trained"].dims == ("variant", "sparsity", "seed", "out_features", "in_features")
    assert "score_final" not in tree["fc.0.weight"].data_vars  # one-shot method
    assert {"numpy", "zarr", "torch"} <= set(tree.attrs["versions"]) and "created" in tree.attrs


def test_growing_appends_labels_without_touching_stored_files(small_zoo, small_results):
    from zoo_builder import store

    zoo, entry = small_zoo
    coords = ("variant/", "sparsity/", "seed/", "epoch/")
    data_before = {k: v for k, v in _files(zoo / entry).items() if "/c/" in k and not k.startswith(coords)}
    extra = small_results[4:]
    store.plan_entries(zoo, [r.spec for r in extra])
    after = _files(zoo / entry)
    assert all(after[k] == v for k, v in data_before.items())
    assert not (zoo / entry / MANIFEST_FILE).exists()  # stale manifest removed
    tree = paistats.load(entry, zoo=zoo)
    assert list(tree["sparsity"].values) == [0.0, 0.3, 0.5] and list(tree["seed"].values) == [0, 1]
    assert not tree["complete"].sel(variant="original", sparsity=0.5, seed=1).values.item()
    for r in extra:
        store.write_run(zoo, r)
    tree = paistats.load(entry, zoo=zoo)
    cell = dict(variant="original", sparsity=0.5, seed=1)
    np.testing.assert_array_equal(tree["fc.1.weight"]["trained"].sel(cell).values,
                                  extra[0].trained["fc.1.weight"].numpy())
    assert store.completed(zoo, entry) == {r.spec.hash for r in small_results}


def test_entry_holds_one_training_configuration(small_zoo, tiny_recipe, spec_factory):
    from zoo_builder import store

    zoo, _ = small_zoo
    with pytest.raises(paistats.GridError, match="recipe"):
        store.plan_entries(zoo, [spec_factory("original", 0.5, 3, tiny_recipe.with_(lr=0.2))])


def test_unplanned_run_is_rejected(tmp_path, small_results):
    from zoo_builder import store

    store.plan_entries(tmp_path, [small_results[0].spec])
    with pytest.raises(paistats.GridError, match="not planned"):
        store.write_run(tmp_path, small_results[1])


def test_failures_are_recorded_and_cleared_on_success(tmp_path, small_results):
    from zoo_builder import store

    r = small_results[0]
    (entry,) = store.plan_entries(tmp_path, [r.spec])
    store.record_failure(tmp_path, r.spec, "TrainingDiverged: loss is nan")
    assert store.failures(tmp_path, entry) == {r.spec.hash: "TrainingDiverged: loss is nan"}
    store.write_run(tmp_path, r)
    assert store.failures(tmp_path, entry) == {}
    assert store.completed(tmp_path, entry) == {r.spec.hash}


def test_rewriting_a_complete_run_is_idempotent(small_zoo, small_results):
    from zoo_builder import store

    zoo, entry = small_zoo
    before = {k: v for k, v in _files(zoo / entry).items() if "/c/" in k}
    store.write_run(zoo, small_results[1])
    store.finalize(zoo, entry)
    after = {k: v for k, v in _files(zoo / entry).items() if "/c/" in k}
    assert before == after
    assert paistats.verify(zoo / entry).ok


def test_each_run_owns_its_shards_and_folders_stay_small(small_zoo):
    zoo, entry = small_zoo
    files = [k for k in _files(zoo / entry) if "/c/" in k or k.startswith("c/")]
    trained = [k for k in files if k.startswith("fc.1.weight/trained/")]
    assert len(trained) == 4  # one shard file per run
    per_folder = {}
    for d, dirs, fs in os.walk(zoo / entry):
        per_folder[d] = len(dirs) + len(fs)
    assert max(per_folder.values()) < 100


def test_verify_reports_changed_and_missing_files(small_zoo):
    zoo, entry = small_zoo
    path = zoo / entry
    report = paistats.verify(path)
    assert report.ok and report.checked > 20 and "OK" in str(report)
    target = path / "fc.1.weight" / "trained" / "c" / "0" / "1" / "0" / "0" / "0"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    (path / "accuracy" / "c" / "1" / "0" / "0").unlink()
    report = paistats.verify(entry, zoo=zoo)
    assert not report.ok
    assert report.changed == ["fc.1.weight/trained/c/0/1/0/0/0"]
    assert report.missing == ["accuracy/c/1/0/0"]
    out = subprocess.run([sys.executable, "-m", "paistats", "verify", str(path)], capture_output=True, text=True)
    assert out.returncode == 1 and "fc.1.weight/trained/c/0/1/0/0/0" in out.stdout
    assert len(out.stdout.strip().splitlines()) == 1


def test_verify_without_manifest_is_one_clear_error(tmp_path, small_results):
    from zoo_builder import store

    (entry,) = store.plan_entries(tmp_path, [small_results[0].spec])
    with pytest.raises(paistats.ManifestError, match="not finalized"):
        paistats.verify(tmp_path / entry)
    out = subprocess.run([sys.executable, "-m", "paistats", "verify", str(tmp_path / entry)],
                         capture_output=True, text=True)
    # one FAILED line naming the problem, exit 1 (an entry that cannot be verified), as zoo_builder verify
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    assert [line for line in out.stdout.splitlines() if "FAILED" in line and "not finalized" in line]


def test_synflow_scores_keep_float64(tmp_path, tiny_recipe, spec_factory):
    from zoo_builder import store

    spec = spec_factory("original", 0.5, 0, tiny_recipe, method="synflow")
    store.plan_entries(tmp_path, [spec])
    tree = paistats.load(spec.entry, zoo=tmp_path)
    assert tree["fc.0.weight"]["score"].dtype == np.float64
    assert tree["fc.0.weight"]["trained"].dtype == np.float32


@pytest.mark.parametrize("arch", ["lenet300", "vgg16", "resnet20", "digits_cnn", "mnist1d_cnn"])
def test_inner_chunks_divide_every_tensor_of_every_architecture(arch):
    from paistats.store import layout
    from zoo_builder import models

    for name, t in models.build(arch).state_dict().items():
        shape = tuple(t.shape)
        chunks = layout.inner_chunks(shape, t.element_size())
        assert all(n % c == 0 for n, c in zip(shape, chunks)), (name, shape, chunks)
        chunk_bytes = t.element_size() * int(np.prod(chunks))
        assert chunks == shape or chunk_bytes >= layout.INNER_CHUNK_BYTES, (name, chunks)


def test_lenet300_runs_plan_write_and_load(tmp_path):
    """LeNet's 300×784 weight is split into inner chunks inside one shard per run."""
    import torch

    from zoo_builder import RunSpec, store
    from zoo_builder.run import RunResult

    spec = RunSpec("lenet300", "mnist", "magnitude", "original", 0.5, 0, "smoke")
    (entry,) = store.plan_entries(tmp_path, [spec])
    from zoo_builder import models, pruning

    model = models.build("lenet300", "mnist", seed=0)
    pruned = pruning.prune(model, "magnitude", 0.5)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    result = RunResult(spec, state, state, pruned.scores, pruned.masks, state,
                       {"epoch": [1, 2], "train_loss": [1.0, 0.5], "test_loss": [1.0, 0.5],
                        "test_accuracy": [0.5, 0.6], "seconds": [1.0, 1.0]}, 0.6, pruned.density, 2.0)
    store.write_run(tmp_path, result)
    tree = paistats.load(entry, zoo=tmp_path)
    trained = tree["fc.0.weight"]["trained"].sel(variant="original", sparsity=0.5, seed=0).values
    assert np.array_equal(trained, state["fc.0.weight"].numpy())
    assert bool(tree["complete"].sel(variant="original", sparsity=0.5, seed=0))
    assert torch.equal(torch.from_numpy(tree["fc.0.weight"]["mask"].sel(variant="original", sparsity=0.5, seed=0).values),
                       pruned.masks["fc.0.weight"])


def test_finalize_rehashes_only_changed_files(small_zoo, monkeypatch):
    from paistats.store import manifest

    zoo, entry = small_zoo
    hashed = []
    real = manifest.sha256_file
    monkeypatch.setattr(manifest, "sha256_file", lambda p: hashed.append(p) or real(p))
    manifest.finalize(zoo, entry)
    assert hashed == [] or all(p.name == "zarr.json" for p in hashed)  # only re-consolidated metadata
    target = next(p for p in (zoo / entry / "fc.0.weight" / "trained").rglob("*") if p.is_file() and p.name != "zarr.json")
    data = target.read_bytes()
    target.unlink()
    target.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # replaced file: new mtime, new bytes
    hashed.clear()
    doc = json.loads(manifest.finalize(zoo, entry).read_text())
    assert target in hashed
    assert doc["files"][target.relative_to(zoo / entry).as_posix()]["sha256"] == real(target)
