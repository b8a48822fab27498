"""Accuracy summaries: checked against a pandas groupby over the tidy run table."""
import numpy as np
import pandas as pd

import paistats


def test_accuracy_summary_matches_a_pandas_groupby(small_zoo, small_results):
    zoo, entry = small_zoo
    table = paistats.accuracy_summary(paistats.load(entry, zoo=zoo))
    runs = pd.DataFrame([{"variant": r.spec.variant, "sparsity": r.spec.sparsity, "seed": r.spec.seed,
                          "accuracy": r.accuracy} for r in small_results[:4]])
    expected = runs.groupby(["sparsity", "variant"])["accuracy"].agg(["mean", "count"])
    assert len(table) == len(expected)
    for (method, sparsity, variant), row in table.iterrows():
        assert method == "magnitude"
        assert row["mean"] == expected.loc[(sparsity, variant), "mean"]
        assert row["n"] == expected.loc[(sparsity, variant), "count"] and np.isnan(row["std"])


def test_accuracy_summary_over_seeds_uses_sample_std(tmp_path, small_results):
    from zoo_builder import store

    runs = [small_results[1], small_results[4]]  # (original, 0.5) with seeds 0 and 1
    (entry,) = store.plan_entries(tmp_path, [r.spec for r in runs])
    for r in runs:
        store.write_run(tmp_path, r)
    row = paistats.accuracy_summary(paistats.load(entry, zoo=tmp_path)).loc[("magnitude", 0.5, "original")]
    accs = [r.accuracy for r in runs]
    assert row["n"] == 2 and row["mean"] == np.mean(accs) and row["std"] == np.std(accs, ddof=1)
    text = paistats.format_accuracy_summary(paistats.accuracy_summary(paistats.load(entry, zoo=tmp_path)))
    assert f"{100 * np.mean(accs):.2f} ± {100 * np.std(accs, ddof=1):.2f}" in text


def test_text_summary_lists_variants_in_the_zoo_order():
    from paistats.vocabulary import VARIANT_ORDER

    variants = ["zz_custom", "permute_kept", "shuffle_kept", "reinit", "original", "shuffle"]
    index = pd.MultiIndex.from_tuples([("snip", 0.5, v) for v in variants], names=["pruner", "sparsity", "variant"])
    table = pd.DataFrame({"mean": 0.9, "std": 0.01, "n": 2}, index=index)
    header = paistats.format_accuracy_summary(table).splitlines()[1].split()
    known = [v for v in VARIANT_ORDER if v in variants]
    assert header == ["variant"] + known + ["zz_custom"]
