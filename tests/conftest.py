"""Shared, cheap fixtures: a handful of real 1-epoch runs (session scope) and small zoos built
from them in ``tmp_path``."""
from __future__ import annotations

import pytest

from _runs import make_spec


@pytest.fixture(scope="session")
def tiny_recipe():
    """The ``smoke`` recipe cut to one epoch (≈ 0.3 s per mnist1d_mlp run on 2 threads)."""
    from zoo_builder.training.recipes import RECIPES

    return RECIPES.get("smoke").with_(epochs=1)


@pytest.fixture(scope="session")
def spec_factory():
    """``spec_factory(variant, sparsity, seed, recipe, arch=..., method=...)`` → RunSpec (small defaults)."""
    return make_spec


@pytest.fixture(scope="session")
def small_results(tiny_recipe):
    """RunResults of mnist1d_mlp/magnitude: variants original & reinit × sparsities 0 & 0.5 × seed 0,
    plus (original, 0.5, seed 1) and (original, 0.3, seed 0) used to grow an entry."""
    from zoo_builder import run

    cells = [("original", 0.0, 0), ("original", 0.5, 0), ("reinit", 0.0, 0), ("reinit", 0.5, 0),
             ("original", 0.5, 1), ("original", 0.3, 0)]
    return [run(make_spec(v, s, k, tiny_recipe)) for v, s, k in cells]


@pytest.fixture(scope="session")
def random_results(tiny_recipe):
    """Real runs of a second method (mnist1d_mlp / random) on the grid of ``small_zoo``."""
    from zoo_builder import run

    cells = [(v, s) for v in ("original", "reinit") for s in (0.0, 0.5)]
    return [run(make_spec(v, s, 0, tiny_recipe, method="random")) for v, s in cells]


@pytest.fixture
def small_zoo(tmp_path, small_results):
    """A finalized zoo with the first four runs of :func:`small_results`; returns (zoo_dir, entry)."""
    from zoo_builder import store

    zoo = tmp_path / "zoo"
    first = small_results[:4]
    (entry,) = store.plan_entries(zoo, [r.spec for r in first])
    for r in first:
        store.write_run(zoo, r)
    store.finalize(zoo, entry)
    return zoo, entry


@pytest.fixture
def hub_env(tmp_path, monkeypatch):
    """A running local test Hub (``tests/hub_server.py``); HF_ENDPOINT / HF_HOME point at it and a temp dir."""
    from hub_server import HubServer, configure_client_env

    server = HubServer().start()
    configure_client_env(monkeypatch, server, tmp_path / "hf-home")
    yield server
    server.stop()
