"""Memory and speed paths of the statistics. Memory is flat in seeds: measured as the bytes of task
results that dask's synchronous scheduler holds at once (deterministic: no wall time, no allocator),
on an entry read one seed per chunk, with one noise-floor block of seeds and with ten times as many."""
from __future__ import annotations

import warnings

import dask
import dask.array
import numpy as np
import pytest
import xarray as xr
from dask.callbacks import Callback

import paistats.stats._compute as compute_mod
from paistats.stats import StatsWarning
from paistats.stats._compute import Request, compute
from paistats.vocabulary import SEED
from tests.test_stats_edge import fake_entry

TILE = 4


class HeldBytes(Callback):
    """Peak total ``nbytes`` of the results the scheduler holds (its cache) after any task."""

    def __init__(self):
        super().__init__()
        self.peak = 0

    def _posttask(self, key, result, dsk, state, worker_id):
        held = sum(getattr(v, "nbytes", 0) for v in state["cache"].values())
        self.peak = max(self.peak, held)


class Source:
    """Stands for a stored array: dask reads chunks from it by task, on demand (an in-memory
    numpy array would be embedded in the graph as literal chunks, all held from the start)."""

    def __init__(self, a: np.ndarray):
        self.a, self.shape, self.dtype, self.ndim = a, a.shape, a.dtype, a.ndim

    def __getitem__(self, idx):
        return self.a[idx].copy()


def stored(tree: xr.DataTree) -> xr.DataTree:
    """``tree`` with its layer arrays read lazily from :class:`Source`, one seed per chunk."""
    out = {}
    for path, node in tree.subtree_with_keys:
        ds = node.to_dataset(inherit=False)
        if "mask" in ds:
            for name, v in ds.data_vars.items():
                chunks = tuple(1 if d == SEED else n for d, n in zip(v.dims, v.shape))
                data = dask.array.from_array(Source(v.values), chunks=chunks, name=f"store-{name}-{v.shape}")
                ds[name] = (v.dims, data)
        out["/" if path == "." else path] = ds
    return xr.DataTree.from_dict(out, name=tree.name)


def held_peak(n_seeds: int, req: Request) -> int:
    tree = stored(fake_entry(shape=(200, 100), seeds=tuple(range(n_seeds))))
    with HeldBytes() as cb, dask.config.set(scheduler="synchronous"), warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        compute(tree, req)
    return cb.peak


@pytest.mark.parametrize("req", [Request(), Request(stats=False, dist=False, random=False)],
                         ids=["everything", "noise_floor"])
def test_held_bytes_flat_in_seeds(monkeypatch, req):
    """Ten times the seeds of one cell (and a hundred times the seed pairs) hold about as many bytes
    at once: each tile of seed pairs reads its own two groups of seeds and frees them after."""
    monkeypatch.setattr(compute_mod, "NOISE_TILE", TILE)
    one = held_peak(TILE, req)  # one block of seeds (everything: one task per cell)
    ten = held_peak(10 * TILE, req)  # tiles of two groups of TILE // 2 seeds
    assert ten <= 1.3 * one, (one, ten)
    monkeypatch.setattr(compute_mod, "_fused", lambda *a: False)
    one_separate = held_peak(TILE, req)  # the tiles' own block of seeds, without the fused task
    assert ten <= 1.3 * one_separate, (one_separate, ten)


def test_noise_tiles_equal_one_block_with_many_seeds(monkeypatch):
    """The tiles of 12 seeds (six groups) give exactly the one-block pairs (order and values)."""
    req = Request(stats=False, dist=False, random=False)
    tree = fake_entry(shape=(8, 5), seeds=tuple(range(12))).chunk({SEED: 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        whole = compute(tree, req)["noise_floor"]
        monkeypatch.setattr(compute_mod, "NOISE_TILE", TILE)
        tiled = compute(tree, req)["noise_floor"]
    np.testing.assert_array_equal(tiled["ks"].values, whole["ks"].values)
    np.testing.assert_array_equal(tiled["seed_a"].values, whole["seed_a"].values)


def test_float32_exact_scores_are_sorted_as_float32_with_identical_results(monkeypatch):
    """Float64 scores that are float32 numbers (scores computed in float32) take the float32 path of
    the kernels; every statistic and distance is identical to the float64 path's."""
    from paistats.stats import _blocks

    def f32_scores(a):
        a["score"] = a["score"].astype(np.float32).astype(np.float64)

    tree = fake_entry(shape=(30, 20), seeds=(0, 1, 2), edit=f32_scores)
    req = Request(random=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        fast = compute(tree, req)
        monkeypatch.setattr(_blocks, "_narrow", lambda a: a)
        slow = compute(tree, req)
    for key in fast:
        xr.testing.assert_identical(fast[key], slow[key])



def _both_paths(monkeypatch, tree, req, **kw):
    """compute() with the fused per-cell tasks and with the separate run / noise / random tasks."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        fused = compute(tree, req, **kw)
        monkeypatch.setattr(compute_mod, "_fused", lambda *a: False)
        separate = compute(tree, req, **kw)
    return fused, separate


@pytest.mark.parametrize("req", [Request(), Request(include_pruned=True), Request(reference="shuffle"),
                                 Request(stats=False), Request(dist=False), Request(stats=False, dist=False)],
                         ids=["default", "include_pruned", "reference_shuffle", "no_stats", "no_dist", "noise_only"])
def test_one_task_per_cell_equals_the_separate_tasks(monkeypatch, req):
    """The fused path (runs, noise floor and ratio to random from one set of sorted samples per cell)
    gives bit-identical results to the separate tasks, with incomplete runs (a seed of the reference,
    one shuffled run, a random one), the reinit variant sharing the reference's mask and a random entry."""
    def edit(a):
        a["complete"][0, 0, 2] = False  # the reference of seed 2: no distances, noise pairs NaN
        a["complete"][1, 1, 0] = False
        a["mask"][2] = a["mask"][0]  # reinit keeps the original's mask

    tree = fake_entry(shape=(12, 10), seeds=(0, 1, 2, 3), sparsities=(0.5, 0.8), edit=edit).chunk({SEED: 1})
    def rnd_edit(a):
        a["complete"][0, 1, 3] = False  # the random pruner's original run of one cell: its ratio NaN

    rnd = fake_entry(shape=(12, 10), seeds=(0, 1, 2, 3), sparsities=(0.5, 0.8), seed=7, name="fake-random",
                     edit=rnd_edit)
    fused, separate = _both_paths(monkeypatch, tree, req, random=rnd if req.dist else None)
    assert set(fused) == set(separate)
    for key in fused:
        xr.testing.assert_identical(fused[key], separate[key])
    if req.dist:
        assert np.isfinite(fused["distances"]["ks_random_ratio"].sel(stage="trained")).any()


def test_inputs_without_a_seed_dim_take_the_separate_tasks(monkeypatch):
    """A random entry selected at one seed (its run compared with every seed's reference) and a
    layer whose scores have no seed dim are not cells of seeds: they take the separate tasks
    (the fused task failed on them) and give the same numbers as there."""
    tree = fake_entry(shape=(8, 6), seeds=(0, 1, 2), sparsities=(0.5, 0.8))
    rnd = fake_entry(shape=(8, 6), seeds=(0, 1, 2), sparsities=(0.5, 0.8), seed=7, name="fake-random")
    fused, separate = _both_paths(monkeypatch, tree, Request(), random=rnd.sel(seed=0))
    xr.testing.assert_identical(fused["distances"], separate["distances"])
    assert np.isfinite(fused["distances"]["ks_random_ratio"].sel(stage="trained")).any()
    seedless = tree.copy()
    layer = seedless["fc.weight"].to_dataset()
    seedless["fc.weight"] = xr.DataTree(layer.assign(score=layer["score"].isel(seed=0, drop=True)))
    monkeypatch.undo()
    fused, separate = _both_paths(monkeypatch, seedless, Request(noise=False), random=rnd)
    xr.testing.assert_identical(fused["layer_stats"], separate["layer_stats"])


def test_dense_statistics_of_a_starting_tensor_shared_by_the_pruners_are_computed_once(monkeypatch):
    """An arch stack's pruners start from the same init (per seed): dense_block ranks it once per
    seed, and every pruner's rows equal those of a block of that pruner alone."""
    from paistats.stats import _blocks
    from paistats.stats._kernels import QUANTILES

    rng = np.random.default_rng(4)
    n_pruners, n_seeds, shape = 3, 2, (6, 7)
    init = (rng.standard_normal((n_seeds, *shape)) * 0.1).astype(np.float32)
    reinit = (rng.standard_normal((n_seeds, *shape)) * 0.1).astype(np.float32)
    init = np.broadcast_to(init[:, None], (n_seeds, n_pruners, *shape)).copy()  # (seed, pruner, *T)
    reinit = np.broadcast_to(reinit[:, None], (n_seeds, n_pruners, *shape)).copy()
    reinit[1, 2] += 0.5  # one pruner of seed 1 starts elsewhere: not shared
    score = rng.random((n_seeds, n_pruners, *shape)).astype(np.float32)
    ranked = []
    real = _blocks.ranked
    monkeypatch.setattr(_blocks, "ranked", lambda x, absolute: (ranked.append(absolute), real(x, absolute))[1])
    out = _blocks.dense_block(init, reinit, score, nt=2, quantiles=QUANTILES)
    # per seed: every pruner's score, one init, one reinit (seed 1: two)
    assert ranked.count(True) == 2 * n_seeds + 1 and ranked.count(False) == n_seeds * n_pruners
    monkeypatch.setattr(_blocks, "ranked", real)
    for k in range(n_seeds):
        for p in range(n_pruners):
            alone = _blocks.dense_block(init[k, p], reinit[k, p], score[k, p], nt=2, quantiles=QUANTILES)
            np.testing.assert_array_equal(out[k, p], alone)
