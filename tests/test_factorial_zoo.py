"""shuffle_kept / permute_kept in a real (tiny) zoo: stored starts, views, distances, and growing an
existing entry along ``variant``."""
import numpy as np
import pandas as pd
import pytest

import paistats
from paistats.errors import GridError
from paistats.stats.derived import read_derived
from paistats.store import layout
from zoo_builder import store

FIRST = ("original", "shuffle", "reinit")
ADDED = ("shuffle_kept", "permute_kept")
SEEDS = (0, 1)
SPARSITY = 0.8
pytestmark = pytest.mark.slow  # ten real runs and two finalizations with statistics: ≈ 30 s on a shared core


@pytest.fixture(scope="module")
def factorial_results(tiny_recipe):
    from zoo_builder import run
    from _runs import make_spec

    return {(v, k): run(make_spec(v, SPARSITY, k, tiny_recipe)) for v in FIRST + ADDED for k in SEEDS}


@pytest.fixture(scope="module")
def grown(tmp_path_factory, factorial_results):
    """(zoo, entry, stored statistics before growth, trained arrays before growth): an entry built with
    original/shuffle/reinit and finalized with its statistics, then grown by the two factorial variants."""
    zoo = tmp_path_factory.mktemp("factorial") / "zoo"
    first = [r for (v, _), r in factorial_results.items() if v in FIRST]
    (entry,) = store.plan_entries(zoo, [r.spec for r in first])
    for r in first:
        store.write_run(zoo, r)
    store.finalize(zoo, entry, derived=True)
    before_stats = read_derived(zoo / entry, "layer_stats")
    before = paistats.load(entry, zoo=zoo)
    assert before.attrs["format_version"] == layout.FORMAT_VERSION  # no start arrays: still format 2
    trained_before = {n: before[n]["trained"].values.copy() for n in paistats.layers(before)}
    added = [r for (v, _), r in factorial_results.items() if v in ADDED]
    store.plan_entries(zoo, [r.spec for r in added])
    for r in added:
        store.write_run(zoo, r)
    store.finalize(zoo, entry, derived=True)
    return zoo, entry, before_stats, trained_before


def test_growing_along_variant_keeps_runs_and_recomputes_stored_statistics(grown, factorial_results):
    zoo, entry, before_stats, trained_before = grown
    tree = paistats.load(entry, zoo=zoo)
    assert tree.attrs["format_version"] == layout.START_FORMAT_VERSION
    assert list(tree["variant"].values) == list(FIRST + ADDED)
    assert bool(tree["complete"].all())
    assert store.completed(zoo, entry) == {r.spec.hash for r in factorial_results.values()}
    for n, old in trained_before.items():  # the old runs' data untouched
        np.testing.assert_array_equal(tree[n]["trained"].sel(variant=list(FIRST)).values, old)
    assert set(before_stats["variant"].values) == set(FIRST)
    after = read_derived(zoo / entry, "layer_stats")
    assert after is not None and list(after["variant"].values) == list(FIRST + ADDED)
    fresh = paistats.layer_stats(tree, precomputed=False)
    np.testing.assert_allclose(after["std"].values, fresh["std"].values, rtol=0, atol=0, equal_nan=True)


def test_stored_start_is_the_runs_start_and_only_the_factorial_variants_write_it(grown, factorial_results):
    zoo, entry, *_ = grown
    tree = paistats.load(entry, zoo=zoo)
    for (v, k), r in factorial_results.items():
        sd = paistats.state_dict(tree, variant=v, sparsity=SPARSITY, seed=k, stage="init")
        for n in paistats.layers(tree):
            stored = tree[n]["start"].sel(variant=v, sparsity=SPARSITY, seed=k).values
            if v in ADDED:
                np.testing.assert_array_equal(stored, r.start[n].numpy())
                np.testing.assert_array_equal(sd[n], np.where(r.masks[n].numpy(), r.start[n].numpy(), 0))
            else:
                assert np.isnan(stored).all() and r.start is None


def test_kept_values_at_init_are_originals_multiset_in_the_views(grown):
    zoo, entry, *_ = grown
    tree = paistats.load(entry, zoo=zoo)
    masks = {n: tree[n]["mask"] for n in paistats.layers(tree)}
    for n, w in paistats.unpruned(tree, stage="init").items():
        for k in SEEDS:
            ref = w.sel(variant="original", sparsity=SPARSITY, seed=k).values
            ref = np.sort(ref[~np.isnan(ref)])
            for v in ADDED:
                got = w.sel(variant=v, sparsity=SPARSITY, seed=k).values
                assert int((~np.isnan(got)).sum()) == int(masks[n].sel(variant="original", sparsity=SPARSITY,
                                                                         seed=k).sum())
                np.testing.assert_array_equal(np.sort(got[~np.isnan(got)]), ref, err_msg=f"{v} {n} seed {k}")
            np.testing.assert_array_equal(masks[n].sel(variant="permute_kept").values,
                                          masks[n].sel(variant="original").values)
            np.testing.assert_array_equal(masks[n].sel(variant="shuffle_kept").values,
                                          masks[n].sel(variant="shuffle").values)


def test_distances_to_original_at_init_are_zero_for_the_kept_value_variants(grown):
    zoo, entry, *_ = grown
    tree = paistats.load(entry, zoo=zoo)
    for precomputed in (False, True):
        d = paistats.distances(tree, precomputed=precomputed).sel(stage="init")
        for m in ("ks", "wasserstein", "wasserstein_rel", "energy", "jensen_shannon", "hellinger", "mean_diff",
                  "log_std_ratio", "kurtosis_diff"):
            values = d[m].sel(variant=list(ADDED)).values
            assert np.isfinite(values).all() and np.abs(values).max() <= 1e-12, (m, precomputed)
        # and not trivially: magnitude's shuffle changes the kept distribution at init
        assert float(d["ks"].sel(variant="shuffle", layer="all").min()) > 0.1


def test_a_stored_start_variant_without_its_start_weights_is_refused(tmp_path, factorial_results):
    r = factorial_results[("permute_kept", 0)]
    (entry,) = store.plan_entries(tmp_path, [r.spec])
    payload = store.payload(r)
    payload.start = None
    from paistats.store import writer

    with pytest.raises(GridError, match="lacks its per-run start weights"):
        writer.write_run(tmp_path, entry, payload)


def test_report_section_on_a_tiny_factorial_zoo(grown, tmp_path):
    from analysis import factorial, reproduce

    zoo, *_ = grown
    index, ctx = reproduce.build_report(zoo, tmp_path / "report", sections=("factorial",),
                                        formats=("svg",))
    html = index.read_text()
    assert factorial.SECTION in html and "interaction-" in html
    (line,) = [s for s in ctx.summary if s["section"] == factorial.SECTION]
    assert "of 1 pruner × sparsity cells" in line["answer"]
    shift = pd.read_csv(next((tmp_path / "report" / "tables").glob("factorial-shift-*.csv")))
    at_init = shift[(shift.stage == "init") & shift.variant.isin(["shuffle_kept", "permute_kept"])]
    assert len(at_init) and (at_init[["ks", "wasserstein_rel", "log_std_ratio"]].abs() <= 1e-12).all().all()
