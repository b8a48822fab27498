"""The build plan: a configuration's grid expanded into RunSpecs and grouped into tasks.

One task per pruning, i.e. per (arch, dataset, method, sparsity, seed, recipe): it runs every
variant of that pruning in one process, so :func:`zoo_builder.run.prepare` scores once. The dense
baselines (sparsity 0, variant ``original``) of one (arch, dataset, seed, recipe) form one task
across methods: the dense network does not depend on the method, so it is trained once and each
method's entry gets its own scores with the shared trained weights (see
:func:`zoo_builder.executor.run_task`).
"""
from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass, field

from paistats.vocabulary import RANDOM_PRUNER, REFERENCE_VARIANT, SEED, SPARSITY, VARIANT
from zoo_builder.config import BuildConfig, ConfigError
from zoo_builder.registry import unknown_choice_message
from zoo_builder.spec import RunSpec

FILTER_KEYS = ("arch", "dataset", "method", VARIANT, SPARSITY, SEED, "entry")

# Training throughput (images per second, training + one third of the test set per epoch) behind
# the --dry-run estimate. CPU: per worker core, everything a run costs included (scoring, masking,
# the per-epoch evaluation, store writes, the entries' stored statistics). lenet300: the mini build
# took 21.4 min on 2 idle cores (38,000 here reproduced it) before the workers stopped inheriting
# Dask's MALLOC_TRIM_THRESHOLD_ (zoo_builder.executor.MALLOC_TRIM), which cut the steady-state time
# per run by 29 % (benchmarks/bench_build.py: 4.83 -> 3.42 s per run per worker); 52,000 projects
# that onto the whole build (≈ 16 min); the full idle build then took 17.3 min (estimate −8 %). The others come
# from design.md §3 or are guesses. The builder prints a revised estimate once it has timed its own
# first runs (zoo_builder.progress.Calibration).
CPU_IMAGES_PER_CORE_S = {"lenet300": 52_000, "mnist1d_mlp": 200_000, "mnist1d_cnn": 25_000,
                         "digits_cnn": 25_000, "resnet20": 250, "resnet32": 160, "resnet56": 90,
                         "vgg11": 150, "vgg13": 110, "vgg16": 90, "vgg19": 75}
# One H100-class GPU, fp32 (guesses; small nets are launch-overhead bound).
GPU_IMAGES_PER_S = {"lenet300": 150_000, "mnist1d_mlp": 150_000, "mnist1d_cnn": 100_000,
                    "digits_cnn": 100_000, "resnet20": 25_000, "resnet32": 17_000, "resnet56": 10_000,
                    "vgg11": 30_000, "vgg13": 24_000, "vgg16": 20_000, "vgg19": 17_000}
DATASET_SIZES = {"mnist": (60_000, 10_000), "cifar10": (50_000, 10_000), "cifar100": (50_000, 10_000),
                 "digits": (1_347, 450), "mnist1d": (4_000, 1_000)}
RUN_OVERHEAD_S = 0.3


@dataclass(frozen=True)
class Task:
    """Specs executed together in one worker call (they share a pruning or a dense training)."""

    specs: tuple[RunSpec, ...]

    @property
    def id(self) -> str:
        """Stable id: a hash of the sorted spec hashes."""
        return hashlib.sha256(",".join(sorted(s.hash for s in self.specs)).encode()).hexdigest()[:16]

    @property
    def dense(self) -> bool:
        return self.specs[0].sparsity == 0.0

    @property
    def label(self) -> str:
        s = self.specs[0]
        what = "dense" if self.dense else f"{s.method} s={s.sparsity:g}"
        return f"{s.arch}-{s.dataset} {what} seed={s.seed}"


@dataclass
class Plan:
    """Ordered, duplicate-free runs of a build and their tasks."""

    name: str
    specs: list[RunSpec]
    tasks: list[Task]
    description: str = ""
    filters: dict = field(default_factory=dict)

    def entries(self) -> "OrderedDict[str, list[RunSpec]]":
        out: OrderedDict[str, list[RunSpec]] = OrderedDict()
        for s in self.specs:
            out.setdefault(s.entry, []).append(s)
        return out

    def __len__(self) -> int:
        return len(self.specs)

    def with_amp(self, amp: bool = True) -> "Plan":
        """The same plan with every run trained under bf16 autocast (AMP is part of a run's identity)."""
        import dataclasses

        specs = [dataclasses.replace(s, amp=bool(amp)) for s in self.specs]
        return dataclasses.replace(self, specs=specs, tasks=group_tasks(specs))

    def select(self, filters: dict[str, list[str]]) -> "Plan":
        """The sub-plan whose specs match every ``key → allowed values`` filter."""
        if not filters:
            return self
        keep = [s for s in self.specs if _matches(s, filters)]
        if not keep:
            raise ConfigError(f"--only {format_filters(filters)} selects none of the {len(self.specs)} runs "
                              f"of plan {self.name!r}")
        return make_plan(self.name, keep, description=self.description, filters=filters)

    def run_costs(self, specs=None, *, gpu: bool = False) -> "dict[str, float]":
        """Estimated compute seconds of each run of ``specs`` (default all), keyed by spec hash.

        A run costs :data:`RUN_OVERHEAD_S` plus its training (``epochs × (training set + a third
        of the test set) / throughput``, from :data:`CPU_IMAGES_PER_CORE_S` or
        :data:`GPU_IMAGES_PER_S`); a dense baseline that reuses another method's training (the
        same arch, dataset, seed and recipe earlier in ``specs``) costs :data:`RUN_OVERHEAD_S` only.

        Returns
        -------
        dict of str to float
            Seconds per run: CPU core-seconds, or GPU-seconds with ``gpu``.
        """
        table = GPU_IMAGES_PER_S if gpu else CPU_IMAGES_PER_CORE_S
        costs: dict[str, float] = {}
        trained = set()
        for s in (self.specs if specs is None else specs):
            key = _training_key(s) if s.sparsity == 0.0 else s.hash
            if key in trained:  # dense baselines of other methods reuse the trained network
                costs[s.hash] = RUN_OVERHEAD_S
                continue
            trained.add(key)
            n_train, n_test = DATASET_SIZES.get(s.dataset, (50_000, 10_000))
            rate = table.get(s.arch, 1_000 if not gpu else 20_000)
            costs[s.hash] = RUN_OVERHEAD_S + s.recipe.epochs * (n_train + n_test / 3) / rate
        return costs

    def estimate_seconds(self, specs=None, *, gpu: bool = False) -> float:
        """Compute time of ``specs`` (default all): the sum of :meth:`run_costs`.

        Returns
        -------
        float
            Seconds (core-seconds on the CPU; divide by the parallel workers for wall time).
        """
        return sum(self.run_costs(specs, gpu=gpu).values())


def _matches(spec: RunSpec, filters: dict[str, list[str]]) -> bool:
    for key, allowed in filters.items():
        value = spec.entry if key == "entry" else getattr(spec, key)
        if isinstance(value, float):
            if not any(_float_eq(value, a) for a in allowed):
                return False
        elif str(value) not in allowed:
            return False
    return True


def _float_eq(value: float, text: str) -> bool:
    from paistats.store.grid import same_sparsity

    try:
        return same_sparsity(value, text)
    except ValueError:
        return False


def parse_filters(items: list[str] | None) -> dict[str, list[str]]:
    """``["arch=lenet300", "seed=0,1"]`` → ``{"arch": ["lenet300"], "seed": ["0", "1"]}``."""
    out: dict[str, list[str]] = {}
    for item in items or []:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not values.strip():
            raise ConfigError(f"--only expects KEY=VALUE[,VALUE...], got {item!r} (keys: {', '.join(FILTER_KEYS)})")
        if key not in FILTER_KEYS:
            raise ConfigError("--only: " + unknown_choice_message("filter key", key, list(FILTER_KEYS)))
        out.setdefault(key, []).extend(v.strip() for v in values.split(",") if v.strip())
    return out


def format_filters(filters: dict[str, list[str]]) -> str:
    return " ".join(f"{k}={','.join(v)}" for k, v in filters.items())


def _training_key(spec: RunSpec) -> str:
    return json.dumps([spec.arch, spec.dataset, spec.seed, spec.recipe.to_dict()], sort_keys=True)


def specs_from_config(config: BuildConfig) -> list[RunSpec]:
    """Every RunSpec of ``config`` in build order, without duplicates.

    Order: seed-major (a partial build covers every method at seed 0 first), then grid, arch,
    dense baselines before sparsities, sparsity, method, variant.
    """
    seen: set[str] = set()
    out: list[RunSpec] = []
    seeds = sorted({s for g in config.grids for s in g.seeds})
    for seed in seeds:
        for gi, g in enumerate(config.grids):
            if seed not in g.seeds:
                continue
            for arch in g.arch:
                dataset = g.dataset
                if dataset is None:
                    from zoo_builder.models import ARCHITECTURES

                    dataset = ARCHITECTURES.get(arch).default_dataset
                points = ([(0.0, (REFERENCE_VARIANT,))] if g.dense else []) + [(s, g.variants) for s in g.sparsities]
                for sparsity, variants in points:
                    for method in g.methods:
                        for variant in variants:
                            try:
                                spec = RunSpec(arch=arch, dataset=dataset, method=method, variant=variant,
                                               sparsity=sparsity, seed=seed, recipe=g.recipe,
                                               per_class=g.per_class, iterations=g.iterations.get(method))
                            except ValueError as e:
                                raise ConfigError(f"grids[{gi}]: {e}") from None
                            if spec.hash not in seen:
                                seen.add(spec.hash)
                                out.append(spec)
    return out


def group_tasks(specs: list[RunSpec]) -> list[Task]:
    """Group specs into tasks (per pruning; dense baselines per training), in first-seen order."""
    groups: OrderedDict[str, list[RunSpec]] = OrderedDict()
    for s in specs:
        if s.sparsity == 0.0 and s.variant == REFERENCE_VARIANT:
            key = "dense:" + _training_key(s)
        else:
            key = "prune:" + json.dumps([*s.pruning_key, s.recipe.to_dict()], sort_keys=True, default=str)
        groups.setdefault(key, []).append(s)
    return [Task(tuple(v)) for v in groups.values()]


def scoring_rounds(task: Task) -> int:
    """Scoring rounds a task runs: its method's rounds (``iterations``, SynFlow's 100 by default),
    twice when one of its variants keeps the inverted end (iterative methods rerun every round)."""
    from zoo_builder import pruning, variants

    s = task.specs[0]
    if task.dense:
        return len(task.specs)
    rounds = s.iterations or pruning.method(s.method).iterations
    inverted = any(variants.get(x.variant).inverted for x in task.specs)
    return rounds * (2 if inverted and rounds > 1 else 1)


def schedule(tasks: list[Task], costs: dict[str, float], workers: int = 1) -> list[Task]:
    """The order in which the builder submits ``tasks`` (workers take them in this order).

    Seed-major, as :func:`specs_from_config` (a partial build covers every method at the first
    seed first). Within one seed:

    1. the dense tasks (one training each, shared by every method's entry);
    2. the tasks of the random pruner's entries (every other entry's statistics read their
       tensors, so they must be complete before the others can be finalized);
    3. the other entries, each entry's tasks together (so entries of the last seed complete one
       after another and each can be finalized while the rest train), the costliest entry first:
       by estimated training seconds (``costs``, :meth:`Plan.run_costs`), then scoring rounds
       (:func:`scoring_rounds`: SynFlow's iterative rounds before the one-shot methods), so the
       build ends on the cheapest tasks.

    Then the tail is cut finer (:func:`split_tail`): the last ``2 × workers`` tasks of a one-shot
    method run one run per task, so the workers finish within about one run of each other
    instead of one task (four runs) apart.

    The order changes when a run is computed, never what it computes: every run is a function of
    its spec alone.

    Parameters
    ----------
    tasks : list of Task
    costs : dict of str to float
        Estimated seconds of each run, by spec hash (missing runs count 0).
    workers : int
        Workers of the build (the tail that is split, :func:`split_tail`).

    Returns
    -------
    list of Task
        The same runs: the tasks reordered, the tail's split into one-run tasks.
    """
    def cost(group: list[Task]) -> tuple[float, int]:
        return (sum(costs.get(s.hash, 0.0) for t in group for s in t.specs), sum(scoring_rounds(t) for t in group))

    by_seed: OrderedDict[int, list[Task]] = OrderedDict()
    for t in tasks:
        by_seed.setdefault(t.specs[0].seed, []).append(t)
    out: list[Task] = []
    for seed_tasks in by_seed.values():
        entries: OrderedDict[str, list[Task]] = OrderedDict()
        for t in seed_tasks:
            if not t.dense:
                entries.setdefault(t.specs[0].entry, []).append(t)
        random = [e for e, group in entries.items() if group[0].specs[0].method == RANDOM_PRUNER]
        others = sorted((e for e in entries if e not in random), key=lambda e: cost(entries[e]), reverse=True)
        out += [t for t in seed_tasks if t.dense]
        for e in random + others:
            out += entries[e]
    return split_tail(out, 2 * max(1, workers))


def split_tail(tasks: list[Task], n: int) -> list[Task]:
    """``tasks`` with each of the last ``n`` split into one task per run (in the task's run order),
    unless it is a dense task (its runs share one training) or an iterative method's (each run
    would score its rounds again: :func:`scoring_rounds` > 1).

    A one-shot method scores in a fraction of a second (and a worker keeps its last two
    prunings, :func:`zoo_builder.run.prepare`), so a run alone costs what it costs inside its
    task; every run is a function of its spec alone, so the split changes when runs are
    computed, never what they compute.

    Parameters
    ----------
    tasks : list of Task
        In submission order.
    n : int
        How many of the last tasks may be split (≥ 0).

    Returns
    -------
    list of Task
    """
    head, tail = tasks[:max(0, len(tasks) - n)], tasks[max(0, len(tasks) - n):]
    out = list(head)
    for t in tail:
        if t.dense or len(t.specs) == 1 or scoring_rounds(t) > 1:
            out.append(t)
        else:
            out += [Task((s,)) for s in t.specs]
    return out


def check_entries(specs: list[RunSpec]) -> None:
    """One entry holds one training configuration (recipe, per_class, iterations): two grids that
    put different ones into the same ``{arch}-{dataset}-{method}`` entry are an impossible grid."""
    seen: dict[str, tuple] = {}
    for s in specs:
        cfg = (json.dumps(s.recipe.to_dict(), sort_keys=True), s.per_class, s.iterations)
        if seen.setdefault(s.entry, cfg) != cfg:
            raise ConfigError(f"entry {s.entry!r} would hold two training configurations "
                              f"(recipe/per_class/iterations differ between grids: {seen[s.entry][0]} "
                              f"per_class={seen[s.entry][1]} iterations={seen[s.entry][2]} vs {cfg[0]} "
                              f"per_class={cfg[1]} iterations={cfg[2]}); build them into separate zoos (--zoo)")


def make_plan(name: str, specs: list[RunSpec], *, description: str = "", filters: dict | None = None) -> Plan:
    return Plan(name=name, specs=list(specs), tasks=group_tasks(list(specs)), description=description,
                filters=dict(filters or {}))


def from_config(config: BuildConfig) -> Plan:
    """Expand a validated configuration into a :class:`Plan`.

    Raises :class:`ConfigError` when the grid holds no run.
    """
    specs = specs_from_config(config)
    if not specs:
        raise ConfigError(f"plan {config.name!r} holds no run: give sparsities or set dense: true")
    check_entries(specs)
    return make_plan(config.name, specs, description=config.description)


# ----------------------------------------------------------------------------- description

def file_counts(plan: Plan) -> "list[dict]":
    """Files each entry of ``plan`` will hold, in the build layout (one shard per run per array)
    and in the compacted layout that ``push`` publishes (:mod:`paistats.store.compact`).

    Returns
    -------
    list of dict
        One per entry: ``entry``, ``runs``, ``build``, ``compact``, ``compact_max_folder``.
    """
    from paistats.store.compact import file_counts as _counts
    from zoo_builder import store

    rows = []
    for entry, specs in plan.entries().items():
        ep = store.entry_plan(specs)
        grid = ep.grid()
        sizes = {k: len(v) for k, v in grid.items()} | {"epoch": ep.epochs}
        counts = _counts(ep.tensors, sizes, runs=len(specs), iterative=ep.iterative, score_dtype=ep.score_dtype)
        rows.append({"entry": entry, "runs": len(specs), **counts})
    return rows


def _fmt_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def describe(plan: Plan, *, done: dict[str, set] | None = None, failed: dict[str, dict] | None = None,
             workers: int = 1, gpu: bool = False, cores: int = 1) -> str:
    """The dry-run text: one line per entry, totals, and the estimated cost."""
    done = done or {}
    failed = failed or {}
    entries = plan.entries()
    width = max([len(e) for e in entries] + [5])
    lines = [f"plan {plan.name!r}" + (f": {plan.description}" if plan.description else "")]
    if plan.filters:
        lines.append(f"  restricted to --only {format_filters(plan.filters)}")
    lines.append(f"  {'entry':<{width}}  {'runs':>6}  {'dense':>5}  {'done':>6}  {'failed':>6}  {'to run':>6}")
    todo_specs = []
    n_done = n_failed = 0
    for entry, specs in entries.items():
        d = done.get(entry, set())
        f = failed.get(entry, {})
        nd = sum(s.hash in d for s in specs)
        nf = sum(s.hash in f and s.hash not in d for s in specs)
        todo = [s for s in specs if s.hash not in d]
        todo_specs += todo
        n_done += nd
        n_failed += nf
        n_dense = sum(s.sparsity == 0.0 for s in specs)
        lines.append(f"  {entry:<{width}}  {len(specs):>6}  {n_dense:>5}  {nd:>6}  {nf:>6}  {len(todo):>6}")
    archs = sorted({s.arch for s in plan.specs})
    methods = list(dict.fromkeys(s.method for s in plan.specs))
    variants = list(dict.fromkeys(s.variant for s in plan.specs if s.sparsity > 0) or [REFERENCE_VARIANT])
    sparsities = sorted({s.sparsity for s in plan.specs})
    seeds = sorted({s.seed for s in plan.specs})
    n_dense = sum(s.sparsity == 0.0 for s in plan.specs)
    lines.append(f"total: {len(plan.specs)} runs ({len(plan.specs) - n_dense} pruned + {n_dense} dense) "
                 f"in {len(entries)} entries, {len(plan.tasks)} tasks; {n_done} done, {n_failed} failed, "
                 f"{len(todo_specs)} to run")
    lines.append(f"grid: archs {', '.join(archs)}; methods {', '.join(methods)}; variants {', '.join(variants)}; "
                 f"sparsities {', '.join(f'{s:g}' for s in sparsities)}; seeds {', '.join(map(str, seeds))}")
    cpu = plan.estimate_seconds(todo_specs)
    gpu_s = plan.estimate_seconds(todo_specs, gpu=True)
    if gpu:
        lines.append(f"estimated cost: {_fmt_duration(gpu_s)} of GPU time, ≈ {_fmt_duration(gpu_s / max(workers, 1))} "
                     f"wall on {workers} GPU worker(s) (rough)")
    else:
        parallel = max(1, min(workers, cores))
        lines.append(f"estimated cost: {_fmt_duration(cpu)} of CPU core time, ≈ {_fmt_duration(cpu / parallel)} "
                     f"wall on {workers} worker(s) / {cores} core(s); ≈ {_fmt_duration(gpu_s)} on one GPU (rough)")
    return "\n".join(lines)
