"""Crash safety: SIGKILL at random points + rerun == uninterrupted build (bit-identical on CPU);
two builders on one zoo at once → every run once, nothing corrupt."""
from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zoo_builder import executor, plan, presets, store
from zoo_builder.executor import ClusterOptions

try:
    from test_executor import assert_same_entries, paistats_ok
except ImportError:  # tests/ imported as a package
    from tests.test_executor import assert_same_entries, paistats_ok

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
    return subprocess.Popen(BUILD + ["--out", str(zoo)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
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


def check_consistent(zoo: Path, reference: Path) -> None:
    p = the_plan()
    done = set()
    for e in p.entries():
        done |= store.completed(zoo, e)
        assert store.failures(zoo, e) == {}
        assert paistats_ok(zoo / e)
    assert done == {s.hash for s in p.specs}
    assert_same_entries(reference, zoo, p.entries())


def test_sigkill_at_random_points_then_resume_is_bit_identical(tmp_path, reference):
    rng = random.Random(20240607)
    zoo = tmp_path / "zoo"
    # kill points: 2 by wall time from the start (start-up, planning, first writes), 4 after the
    # k-th finished run plus a random sub-second delay (mid-training or mid-write of the next run)
    points = [("time", rng.uniform(0.5, 4.0)), ("time", rng.uniform(2.0, 6.0))]
    points += [("runs", rng.randint(1, 3), rng.uniform(0.0, 0.4)) for _ in range(4)]
    rng.shuffle(points)
    killed = 0
    for point in points:
        proc = start(zoo)
        if point[0] == "time":
            time.sleep(point[1])
        else:
            seen = 0
            for line in proc.stdout:
                if RUN_LINE.match(line) and "already complete" not in line:
                    seen += 1
                    if seen >= point[1]:
                        break
            time.sleep(point[2])
        finished = proc.poll() is not None
        kill(proc)
        killed += not finished
        n_done = sum(len(store.completed(zoo, e)) for e in the_plan().entries()) if zoo.exists() else 0
        print(f"kill at {point}: {'already finished' if finished else 'killed'}, {n_done} runs complete")
    assert killed >= 5
    final = subprocess.run(BUILD + ["--out", str(zoo)], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert final.returncode == 0, final.stderr[-3000:]
    check_consistent(zoo, reference)


def test_two_builders_on_one_zoo_run_each_run_once(tmp_path, reference):
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    procs = [start(zoo), start(zoo)]
    outs = []
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out[-3000:]
        outs.append(out)
    check_consistent(zoo, reference)
    ran = [int(re.search(r"\((\d+) run now, (\d+) already complete, 0 failed\)", o).group(1)) for o in outs]
    assert sum(ran) == 15, outs  # the per-task lock: no run trained twice
