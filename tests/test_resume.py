"""Crash safety: SIGKILL of the builder mid-build (on its own progress events, never on a timer)
+ rerun == uninterrupted build (bit-identical on CPU); two builders started together on one zoo
(file barrier, overlapping in time) → every run once, nothing corrupt.

A kill right after a progress event lands while the next run trains; kills in the middle of a
store write are covered deterministically (at the n-th file written) by test_store_crash.py."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from zoo_builder import executor, plan, presets, store
from zoo_builder.executor import ClusterOptions

from _runs import assert_same_entries, paistats_ok

ROOT = Path(__file__).resolve().parents[1]
ONLY = ["method=snip,synflow,random", "sparsity=0,0.9"]  # 3 dense + 3 × 4 variants = 15 runs
BUILD = [sys.executable, "-m", "zoo_builder", "--preset", "smoke", "--workers", "1", "--in-process",
         "--torch-threads", "1"] + [a for o in ONLY for a in ("--only", o)]


def the_plan():
    return plan.from_config(presets.load("smoke")).select(plan.parse_filters(ONLY))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted build of the same runs (in this process)."""
    zoo = tmp_path_factory.mktemp("reference") / "zoo"
    summary = executor.build(the_plan(), zoo, ClusterOptions(workers=1, in_process=True, torch_threads=1))
    assert summary.ok and summary.done == 15
    return zoo


def start(zoo: Path) -> subprocess.Popen:
    # own session: SIGKILL goes to the builder's whole process group (as a job scheduler would)
    return subprocess.Popen(BUILD + ["--zoo", str(zoo)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True,
                            cwd=zoo.parent)


def kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)
    proc.stdout.close()


RUN_LINE = re.compile(r"^\[\s*\d+/\d+\] ")


def n_complete(zoo: Path) -> int:
    if not zoo.exists():
        return 0
    return sum(len(store.completed(zoo, e)) for e in the_plan().entries() if (zoo / e).exists())


def check_consistent(zoo: Path, reference: Path) -> None:
    p = the_plan()
    done = set()
    for e in p.entries():
        done |= store.completed(zoo, e)
        assert store.failures(zoo, e) == {}
        assert paistats_ok(zoo / e)
    assert done == {s.hash for s in p.specs}
    assert_same_entries(reference, zoo, p.entries())


def run_until(proc: subprocess.Popen, event) -> bool:
    """Read the builder's output until ``event(line, runs_seen)`` is true; False if it ended first."""
    seen = 0
    for line in proc.stdout:
        if RUN_LINE.match(line) and "already complete" not in line:
            seen += 1
        if event(line, seen):
            return True
    return False


@pytest.mark.slow  # seven builder processes
def test_sigkill_mid_build_then_resume_is_bit_identical(tmp_path, reference):
    zoo = tmp_path / "zoo"
    total = len(the_plan())
    # kill points, each an event of the builder's own progress log: at start-up (the resuming
    # line, before any new run), or right after the k-th run this builder finished
    points = [("runs", 1), ("runs", 2), ("resuming", 0), ("runs", 1), ("runs", 3)]
    for kind, k in points:
        before = n_complete(zoo)
        proc = start(zoo)
        if kind == "resuming":
            hit = run_until(proc, lambda line, seen: line.startswith("resuming:"))
        else:
            hit = run_until(proc, lambda line, seen: seen >= k)
        kill(proc)
        after = n_complete(zoo)
        print(f"kill at {kind} {k}: {before} -> {after} of {total} runs complete")
        assert hit, "the builder finished before the kill point"
        # killed mid-build: runs of earlier builds were kept, and some runs were still left to do
        assert before <= after < total
        if kind == "runs":
            assert after >= before + k
    final = subprocess.run(BUILD + ["--zoo", str(zoo)], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert final.returncode == 0, final.stderr[-3000:]
    check_consistent(zoo, reference)


# The builder behind a file barrier: imports first (they take seconds), then wait until every
# builder is ready, then build; write the wall-clock span of the build.
BARRIER_BUILD = r"""
import json, os, sys, time
from pathlib import Path
import zoo_builder.cli, zoo_builder.executor, zoo_builder.run, distributed
barrier, n, span = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
(barrier / str(os.getpid())).touch()
deadline = time.monotonic() + 300
while len(list(barrier.iterdir())) < n:
    if time.monotonic() > deadline:
        sys.exit("barrier: the other builder never came")
    time.sleep(0.005)
t0 = time.time()
rc = zoo_builder.cli.main(sys.argv[4:])
span.write_text(json.dumps([t0, time.time()]))
sys.exit(rc)
"""


def test_two_builders_on_one_zoo_run_each_run_once(tmp_path, reference):
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    argv = BUILD[3:] + ["--zoo", str(zoo)]  # the options after "python -m zoo_builder"
    procs = [subprocess.Popen([sys.executable, "-c", BARRIER_BUILD, str(barrier), "2", str(tmp_path / f"span{i}"),
                               *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path)
             for i in range(2)]
    outs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out[-3000:]
        outs.append(out)
    spans = [json.loads((tmp_path / f"span{i}").read_text()) for i in range(2)]
    assert max(s[0] for s in spans) < min(s[1] for s in spans), spans  # the two builds overlapped in time
    check_consistent(zoo, reference)
    ran = [int(re.search(r"\((\d+) run now, (\d+) already complete, 0 failed\)", o).group(1)) for o in outs]
    assert sum(ran) == len(the_plan()), outs  # the per-task lock: no run trained twice
