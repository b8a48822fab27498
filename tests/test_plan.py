"""Presets, config files and plans: counts, grouping, validation at the boundary."""
from __future__ import annotations

import json

import pytest
import yaml

from zoo_builder import config, plan, presets
from zoo_builder.config import ConfigError
from zoo_builder.pruning import names as method_names
from zoo_builder.variants import VARIANTS

EXPECTED_RUNS = {
    # methods × variants × sparsities × seeds + methods × seeds dense baselines
    "smoke": 6 * 4 * 2 * 1 + 6 * 1,
    "tiny": 6 * 4 * 2 * 3 + 6 * 3,
    "mini": 6 * 4 * 4 * 5 + 6 * 5,
    "cpu-extra": 3 * (6 * 4 * 4 * 3 + 6 * 3),
    "singh-liu": 2 * (6 * 3 * 1 * 3 + 3 * 1 * 3 + 6 * 3),  # SL grid + grasp invert_*
    "factorial": 5 * 5 * 2 * 5,  # methods × variants × sparsities × seeds, no dense
    "frankle-cifar10": 2 * (6 * 4 * 20 * 5 + 6 * 5),
}


@pytest.mark.parametrize("name", presets.names())
def test_preset_run_counts_match_grid(name):
    p = plan.from_config(presets.load(name))
    assert len(p) == EXPECTED_RUNS[name]
    assert len({s.hash for s in p.specs}) == len(p)  # no duplicates
    assert sum(len(t.specs) for t in p.tasks) == len(p)


def test_mini_preset_covers_the_issue_grid():
    p = plan.from_config(presets.load("mini"))
    assert {(s.arch, s.dataset, s.recipe.name) for s in p.specs} == {("lenet300", "mnist", "lenet_mnist_cpu")}
    assert {s.method for s in p.specs} == set(method_names()) >= {"random", "magnitude", "snip", "grasp",
                                                                    "grasp_abs", "synflow"}
    assert {s.variant for s in p.specs} == set(VARIANTS)
    pruned = sorted({s.sparsity for s in p.specs if s.sparsity > 0})
    assert len(pruned) >= 4 and 0.75 in pruned and pruned[0] == 0.5 and pruned[-1] == 0.98
    assert len({s.seed for s in p.specs}) >= 3
    dense = [s for s in p.specs if s.sparsity == 0]
    assert dense and {s.variant for s in dense} == {"original"}
    assert len(dense) == len(method_names()) * 5  # one per method entry and seed


def test_tasks_group_the_variants_of_one_pruning():
    p = plan.from_config(presets.load("mini"))
    pruned_tasks = [t for t in p.tasks if not t.dense]
    assert len(pruned_tasks) == 6 * 4 * 5
    for t in pruned_tasks:
        assert len({s.pruning_key for s in t.specs}) == 1
        assert [s.variant for s in t.specs] == list(VARIANTS)
    dense_tasks = [t for t in p.tasks if t.dense]
    assert len(dense_tasks) == 5  # one dense training per seed, shared by the six methods
    assert all({s.method for s in t.specs} == set(method_names()) for t in dense_tasks)
    assert len({t.id for t in p.tasks}) == len(p.tasks)


def test_plan_is_seed_major():
    p = plan.from_config(presets.load("mini"))
    seeds = [s.seed for s in p.specs]
    assert seeds == sorted(seeds)


@pytest.mark.parametrize("name", presets.names())
def test_presets_round_trip_through_yaml_and_toml_files(name, tmp_path):
    import tomllib  # noqa: F401  (reading side); writing by hand below

    original = plan.from_config(presets.load(name))
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(presets.get(name)))
    assert [s.hash for s in plan.from_config(config.load(path)).specs] == [s.hash for s in original.specs]
    toml = tmp_path / "grid.toml"
    toml.write_text(_to_toml(presets.get(name)))
    assert [s.hash for s in plan.from_config(config.load(toml)).specs] == [s.hash for s in original.specs]


def _to_toml(d: dict) -> str:
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        raise TypeError(v)

    lines = [f"{k} = {value(v)}" for k, v in d.items() if k != "grids"]
    for g in d["grids"]:
        lines.append("[[grids]]")
        lines += [f"{k} = {value(v)}" for k, v in g.items()]
    return "\n".join(lines) + "\n"


def test_density_schedule_expands_to_powers():
    cfg = config.parse({"grids": [{"arch": "mnist1d_mlp", "recipe": "smoke", "dense": False,
                                   "sparsities": {"density_base": 0.8, "k": [1, 3]}}]})
    assert cfg.grids[0].sparsities == (0.2, 0.36, 0.488)


def test_sparsity_zero_in_list_becomes_the_dense_baseline():
    cfg = config.parse({"grids": [{"arch": "mnist1d_mlp", "recipe": "smoke", "methods": ["random"],
                                   "sparsities": [0.0, 0.5]}]})
    p = plan.from_config(cfg)
    assert [(s.sparsity, s.variant) for s in p.specs] == [(0.0, "original")] + [(0.5, v) for v in VARIANTS]


def test_recipe_overrides_and_iterations():
    cfg = config.parse({"grids": [{"arch": "mnist1d_mlp", "recipe": {"base": "smoke", "epochs": 1},
                                   "methods": ["synflow", "snip"], "variants": ["original"],
                                   "sparsities": [0.9], "iterations": {"synflow": 10}, "dense": False}]})
    p = plan.from_config(cfg)
    assert {s.recipe.epochs for s in p.specs} == {1}
    assert {(s.method, s.iterations) for s in p.specs} == {("synflow", 10), ("snip", None)}


def test_only_filter_selects_a_sub_grid():
    p = plan.from_config(presets.load("mini")).select(plan.parse_filters(["seed=0", "method=snip,synflow",
                                                                           "sparsity=0.9"]))
    assert len(p) == 2 * 4
    assert {s.method for s in p.specs} == {"snip", "synflow"}


@pytest.mark.parametrize("bad, needle", [
    ({"grids": [{"arch": "lenet300", "recipe": "smoke", "sparsities": [0.5]}], "gird": 1},
     "unknown top-level config key 'gird'"),
    ({"grids": [{"arch": "lenet300", "recipe": "smoke", "sparsities": [0.5], "seed": 3}]},
     "grids[0]: unknown grid key 'seed'. Did you mean 'seeds'"),
    ({"grids": [{"arch": "lenet300", "recipe": "smoke", "sparsities": [0.5], "methods": ["snp"]}]},
     "grids[0].methods: unknown pruning method 'snp'. Did you mean 'snip'"),
    ({"grids": [{"arch": "lenet3000", "recipe": "smoke", "sparsities": [0.5]}]},
     "grids[0].arch: unknown architecture 'lenet3000'"),
    ({"grids": [{"arch": "lenet300", "recipe": "smoke", "sparsities": [1.0]}]},
     "grids[0].sparsities: sparsity must be a number in [0, 1)"),
    ({"grids": [{"arch": "lenet300", "recipe": "smoke", "sparsities": [0.5], "seeds": -1}]},
     "grids[0].seeds"),
    ({"grids": [{"arch": "lenet300", "recipe": "fast", "sparsities": [0.5]}]},
     "grids[0].recipe: unknown recipe 'fast'"),
    ({"grids": [{"arch": "lenet300", "recipe": {"base": "smoke", "epoch": 2}, "sparsities": [0.5]}]},
     "unknown recipe field 'epoch'"),
    ({"grids": [{"arch": "lenet300", "recipe": "smoke", "sparsities": [0.5], "variants": ["inverted"]}]},
     "unknown variant 'inverted'"),
    ({"grids": []}, "'grids' is required"),
    ({"grids": [{"arch": "lenet300", "recipe": "smoke"}]}, "missing required key 'sparsities'"),
    ({"grids": [{"arch": "lenet300", "recipe": "smoke", "sparsities": [0.5, 0.5]}]}, "listed twice"),
    ({"grids": [{"arch": "mnist1d_cnn", "dataset": "digits", "recipe": "smoke", "sparsities": [0.5]}]},
     "architecture 'mnist1d_cnn' cannot take dataset 'digits'"),
    ({"grids": [{"arch": "lenet300", "recipe": "smoke", "sparsities": [0.5]},
                {"arch": "lenet300", "recipe": "lenet_mnist", "sparsities": [0.9]}]},
     "would hold two training configurations"),
    ({"grids": [{"arch": "lenet300", "recipe": "smoke", "sparsities": [0.5], "dense": "yes"}]},
     "grids[0].dense: expected true or false"),
])
def test_bad_configs_raise_one_clear_line(bad, needle):
    with pytest.raises(ConfigError) as info:
        plan.from_config(config.parse(bad))
    msg = str(info.value)
    assert needle in msg
    assert "\n" not in msg


def test_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        config.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("grids: [unclosed\n")
    with pytest.raises(ConfigError, match="does not parse"):
        config.load(bad)
    with pytest.raises(ConfigError, match="must end in"):
        config.load(tmp_path / "grid.ini")


def test_failure_injection_predicates():
    from zoo_builder import testing

    p = plan.from_config(presets.load("smoke"))
    preds = testing.parse_fail_spec("method=snip,variant=invert,sparsity=0.9;" + p.specs[0].hash)
    hit = [s for s in p.specs if testing.matches(s, preds)]
    assert p.specs[0] in hit
    assert {(s.method, s.variant, s.sparsity) for s in hit if s != p.specs[0]} == {("snip", "invert", 0.9)}
    assert len(hit) == 2
    with pytest.raises(ConfigError, match="unknown run-spec field 'methd'"):
        testing.parse_fail_spec("methd=snip")


def test_failure_injection_is_not_a_config_key():
    with pytest.raises(ConfigError, match="unknown top-level config key 'inject_failure'"):
        config.parse({**presets.get("smoke"), "inject_failure": [{"method": "snip"}]})


def test_dry_run_description_counts():
    p = plan.from_config(presets.load("smoke"))
    text = plan.describe(p, workers=2, cores=2)
    assert "total: 54 runs (48 pruned + 6 dense) in 6 entries" in text
    assert "estimated cost" in text


def test_run_costs_charge_a_shared_dense_training_once():
    p = plan.from_config(presets.load("mini")).select(plan.parse_filters(["seed=0", "sparsity=0,0.9"]))
    costs = p.run_costs()
    assert set(costs) == {s.hash for s in p.specs}
    n_train, n_test = plan.DATASET_SIZES["mnist"]
    training = plan.RUN_OVERHEAD_S + 3 * (n_train + n_test / 3) / plan.CPU_IMAGES_PER_CORE_S["lenet300"]
    dense = [costs[s.hash] for s in p.specs if s.sparsity == 0.0]
    pruned = [costs[s.hash] for s in p.specs if s.sparsity > 0.0]
    # six methods' dense baselines of one seed: one training, five reuses
    assert sorted(dense) == pytest.approx([plan.RUN_OVERHEAD_S] * 5 + [training])
    assert pruned == pytest.approx([training] * 24)
    assert p.estimate_seconds() == pytest.approx(sum(costs.values()))

