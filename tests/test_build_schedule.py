"""The builder's task order and its finalizing of complete entries while the others train."""
from __future__ import annotations

import shutil
from itertools import groupby

import numpy as np
import pytest

from paistats.stats.derived import derived_path, read_derived
from paistats.vocabulary import RANDOM_PRUNER
from zoo_builder import executor, plan, presets, store
from zoo_builder.executor import ClusterOptions, EntryTracker

IN_PROCESS = ClusterOptions(workers=2, in_process=True)


def mini_plan():
    return plan.from_config(presets.load("mini"))


def test_schedule_is_seed_major_dense_then_random_then_entries_costliest_first():
    p = mini_plan()
    order = plan.schedule(p.tasks, p.run_costs())
    whole = [t for t in order if len(t.specs) > 1]
    assert len(whole) == len(p.tasks) - 2 and {t.id for t in whole} <= {t.id for t in p.tasks}
    assert sorted(s.hash for t in order for s in t.specs) == sorted(s.hash for s in p.specs)  # a permutation
    seeds = [t.specs[0].seed for t in order]
    assert seeds == sorted(seeds)
    for seed, group in groupby(order, key=lambda t: t.specs[0].seed):
        group = list(group)
        assert group[0].dense and not any(t.dense for t in group[1:])
        entries = [t.specs[0].entry for t in group[1:]]
        runs = [e for e, _ in groupby(entries)]
        assert len(runs) == len(set(runs)), f"seed {seed}: an entry's tasks are not together: {runs}"
        assert runs[0].endswith(f"-{RANDOM_PRUNER}")
        assert runs[1].endswith("-synflow")  # same training cost; SynFlow scores 2 × 100 rounds


def test_schedule_splits_the_last_one_shot_tasks_into_one_run_tasks():
    p = mini_plan()
    whole = plan.schedule(p.tasks, p.run_costs())  # one worker: its last 2 tasks split
    order = plan.schedule(p.tasks, p.run_costs(), workers=2)
    assert [s.hash for t in order for s in t.specs] == [s.hash for t in whole for s in t.specs]  # same runs, same order
    assert sorted(s.hash for t in order for s in t.specs) == sorted(s.hash for s in p.specs)
    sizes = [len(t.specs) for t in order]
    assert sizes[-16:] == [1] * 16 and sizes[-17] == 4  # the last 2 × 2 tasks of 4 runs, one run each
    assert [len(t.specs) for t in whole][-9:] == [4] + [1] * 8
    assert all(t.specs[0].method == "snip" for t in order[-16:])
    assert [t.id for t in order[:-16]] == [t.id for t in whole[:-8]][:len(order) - 16]  # the head is untouched
    assert len({t.id for t in order}) == len(order)  # distinct ids (keys and locks)


def test_split_tail_keeps_dense_and_iterative_tasks_whole():
    p = mini_plan().select(plan.parse_filters(["method=synflow", "seed=0"]))
    order = plan.schedule(p.tasks, p.run_costs(), workers=2)
    assert [len(t.specs) for t in order] == [1, 4, 4, 4, 4]  # SynFlow rescores 200 rounds per task
    dense = plan.split_tail([t for t in mini_plan().tasks if t.dense][:1], 5)
    assert len(dense) == 1 and len(dense[0].specs) == 6  # one training shared by six entries


def test_scoring_rounds_count_iterative_and_inverted_rounds():
    p = mini_plan()
    by_method = {t.specs[0].method: plan.scoring_rounds(t) for t in p.tasks if not t.dense}
    assert by_method["synflow"] == 200 and by_method["magnitude"] == 1


def test_schedule_puts_the_costliest_entry_first():
    p = plan.from_config(presets.load("smoke")).select(plan.parse_filters(["method=snip,grasp", "sparsity=0.5"]))
    costs = p.run_costs()
    grasp = {s.hash for s in p.specs if s.method == "grasp"}
    heavier = {h: c * (10 if h in grasp else 1) for h, c in costs.items()}
    assert plan.schedule(p.tasks, heavier)[0].specs[0].method == "grasp"
    lighter = {h: c / (10 if h in grasp else 1) for h, c in costs.items()}
    assert plan.schedule(p.tasks, lighter)[0].specs[0].method == "snip"


def _meta(spec, status="done"):
    return {"hash": spec.hash, "entry": spec.entry, "status": status}


def test_entry_tracker_waits_for_the_random_entry_and_skips_failures():
    p = plan.from_config(presets.load("smoke")).select(
        plan.parse_filters(["method=random,magnitude,snip", "sparsity=0.5", "variant=original"]))
    specs = {s.method: s for s in p.specs}
    tracker = EntryTracker(p.specs, p.specs)
    assert tracker.ready() == []
    tracker.update(_meta(specs["magnitude"]))
    assert tracker.ready() == []  # magnitude's distances need the random entry's runs
    tracker.update(_meta(specs["snip"], "failed"))
    tracker.update(_meta(specs[RANDOM_PRUNER]))
    assert tracker.ready() == [specs[RANDOM_PRUNER].entry]
    assert tracker.ready() == []  # handed out once; the others wait until the random entry is finalized
    tracker.finished(specs[RANDOM_PRUNER].entry)
    assert tracker.ready() == [specs["magnitude"].entry]
    assert tracker.ready() == []  # the failed entry is left to the end of the build
    done_before = EntryTracker(p.specs, [specs["snip"]])
    assert done_before.ready() == [specs[RANDOM_PRUNER].entry]


@pytest.mark.slow
def test_entries_finalized_during_the_build_store_the_same_statistics(tmp_path):
    """Each entry is finalized on a worker as soon as it (and the random entry) is complete; its
    stored statistics equal those computed at the end of the build, in the client."""
    p = plan.from_config(presets.load("smoke")).select(
        plan.parse_filters(["method=random,magnitude", "sparsity=0.5", "variant=original,shuffle"]))
    a = tmp_path / "a"
    summary = executor.build(p, a, IN_PROCESS)
    assert summary.ok
    assert sorted(summary.finalized_early) == sorted(p.entries())  # in the order they finished
    b = tmp_path / "b"
    shutil.copytree(a, b)
    for e in p.entries():
        shutil.rmtree(derived_path(b / e).parent)
        (b / e / "manifest.json").unlink()
    store.finalize_entries(b, list(p.entries()))
    for e in p.entries():
        ta, tb = read_derived(a / e), read_derived(b / e)
        assert ta is not None and tb is not None
        for node in ta.subtree:
            other = tb[node.path]
            assert set(node.data_vars) == set(other.data_vars)
            for name in node.data_vars:
                x, y = node[name].values, other[name].values
                assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f"{e}{node.path}/{name}"


def test_cosine_rates_equal_the_schedulers_per_step_rates():
    """train() sets the cached rates of training.masked.cosine_lrs: the very floats its scheduler gives."""
    import torch.nn as nn

    from zoo_builder.training import masked
    from zoo_builder.training.recipes import RECIPES

    recipe = RECIPES.get("lenet_mnist_cpu").with_(epochs=2)
    optimizer, scheduler = masked.make_optimizer(nn.Linear(3, 2), recipe, steps_per_epoch=7)
    expected = []
    for _ in range(14):
        optimizer.step()
        scheduler.step()
        expected.append(optimizer.param_groups[0]["lr"])
    assert masked.cosine_lrs(recipe, 7) == tuple(expected)
    assert len(set(expected)) == 14
