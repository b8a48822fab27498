"""Command line of the zoo builder: ``python -m zoo_builder`` / ``zoo-builder``.

::

    python -m zoo_builder [build] [--preset NAME | --config FILE] [--gpus N | --workers N | --scheduler ADDRESS]
                          [--zoo DIR] [--only KEY=VALUES] [--push-to-hub REPO] [--dry-run] [--quiet] ...
    python -m zoo_builder ls      [--zoo DIR] [--preset NAME | --config FILE]
    python -m zoo_builder verify  [ENTRY ...] [--zoo DIR]
    python -m zoo_builder push    REPO [--zoo DIR] [--entries E ...] [--revision REV]
    python -m zoo_builder presets [--show NAME]

``--zoo DIR`` is the zoo (default ``./zoo``) in every subcommand; ``--out DIR`` is its deprecated
spelling (one release; it prints a warning). ``verify`` is :func:`paistats.cli.run_verify`, the
same function as ``python -m paistats verify``.

Exit codes: 0 success; 1 the build finished but some runs failed (listed), or verification
failed; 2 bad input: a bad argument, config value or name, a ``--zoo`` that is not a zoo or
cannot be written, or any :class:`paistats.ZooError` (corrupt or truncated entry, Hub unreachable
or refusing, ...), as one line ``zoo_builder: error: <problem>; <fix>`` on stderr, no traceback,
and nothing written; 130 interrupted (rerun the same command to resume).
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import textwrap
from pathlib import Path

from paistats.cli import (
    DEFAULT_ZOO, CliParser as _Parser, UsageError, check_zoo_dir, is_entry, is_zoo, shell_path, unknown_choice,
    warn_deprecated,
)

PROG = "zoo_builder"
SUBCOMMANDS = ("build", "ls", "verify", "push", "presets")
__all__ = ["PROG", "SUBCOMMANDS", "UsageError", "build_parser", "main"]


# A Hub branch or tag name: what git accepts as a ref, minus the corner cases.
_REVISION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]*$")


def _check_revision(revision: str | None) -> None:
    if revision is None:
        return
    if (not _REVISION.match(revision) or ".." in revision or "//" in revision or revision.endswith(("/", ".lock"))
            or len(revision) > 200):
        raise UsageError(f"--revision {revision!r} is not a valid branch name; use letters, digits and "
                         "'.', '_', '-', '/' (e.g. main or v1)")


def _check_repo(flag: str, repo: str) -> None:
    from paistats import hub

    try:
        hub.validate_repo_id(repo)
    except ValueError as e:
        raise UsageError(f"{flag}: {e}") from None


def _check_zoo_shape(zoo_dir: Path) -> None:
    """Refuse a ``--zoo`` that cannot hold a zoo (read-only): a file, one entry folder, or a folder with
    other content that holds no zoo. A missing or empty folder is fine (the build creates the zoo)."""
    if zoo_dir.exists() and not zoo_dir.is_dir():
        raise UsageError(f"--zoo {str(zoo_dir)!r} exists and is not a folder; give a folder path")
    if zoo_dir.is_dir():
        if is_entry(zoo_dir):
            raise UsageError(f"--zoo {str(zoo_dir)!r} is one entry folder, not a zoo; give the zoo folder that "
                             f"holds it: --zoo {shell_path(zoo_dir.absolute().parent)}")
        visible = [c for c in zoo_dir.iterdir() if not c.name.startswith(".")]
        if visible and not is_zoo(zoo_dir):
            raise UsageError(f"--zoo {str(zoo_dir)!r} holds other files and no zoo (no index.json, no entry "
                             "folder); give a new or empty folder, or an existing zoo")


def _check_zoo_writable(zoo_dir: Path) -> None:
    """Refuse a ``--zoo`` that lies under a file or cannot be created or written (before any write)."""
    probe = zoo_dir.absolute()
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"--zoo {str(zoo_dir)!r}: {str(probe)!r} is a file, not a folder; give a folder path")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"--zoo {str(zoo_dir)!r}: folder {str(probe)!r} is not writable; "
                         "choose a folder you can write to")


def _add_zoo(p: argparse.ArgumentParser) -> None:
    """``--zoo DIR`` (default ./zoo) and its deprecated spelling ``--out DIR`` (hidden)."""
    p.add_argument("--zoo", metavar="DIR", default=None, help="zoo folder (default: ./zoo)")
    p.add_argument("--out", metavar="DIR", dest="out_deprecated", default=None, help=argparse.SUPPRESS)


def _zoo_option(args) -> str:
    """The zoo folder: ``--zoo``, else the deprecated ``--out`` (with a warning), else ./zoo."""
    old = getattr(args, "out_deprecated", None)
    if old is None:
        return args.zoo or DEFAULT_ZOO
    if args.zoo is not None and args.zoo != old:
        raise UsageError(f"--out {old!r} and --zoo {args.zoo!r} name two zoos; give --zoo only (--out is its "
                         "deprecated spelling)")
    warn_deprecated(PROG, "--out", "--zoo DIR for the zoo folder")
    return old


def _check_scheduler(address: str) -> None:
    """Refuse an unreachable ``--scheduler`` before anything is written (a TCP connect, 10 s at most)."""
    import socket

    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme != "tcp":  # tls://, ucx://, ...: left to distributed
        return
    host, _, port = rest.rstrip("/").rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"--scheduler {address!r}: expected tcp://HOST:PORT, e.g. tcp://node01:8786")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as e:
        raise UsageError(f"--scheduler {address!r}: cannot connect ({e.strerror or type(e).__name__}); start the "
                         "Dask scheduler first or check the address (see docs/slurm.md)") from None


def _make_out(zoo_dir: Path) -> None:
    try:
        zoo_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--zoo {str(zoo_dir)!r}: cannot create the folder ({e.strerror or e}); "
                         "choose a folder you can write to") from None


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def _add_source(p: argparse.ArgumentParser, *, default_preset: bool) -> None:
    from zoo_builder import presets

    g = p.add_mutually_exclusive_group()
    g.add_argument("--preset", metavar="NAME",
                   help=f"built-in grid: {', '.join(presets.names())}"
                        + (f" (default: {presets.DEFAULT})" if default_preset else ""))
    g.add_argument("--config", metavar="FILE",
                   help="grid file, TOML (.toml) or YAML (.yaml/.yml); see docs/cli.md for the schema")


def build_parser() -> argparse.ArgumentParser:
    from zoo_builder import presets

    epilog = textwrap.dedent(f"""\
        subcommands (give one as the first argument; default: build):
          build    build (or resume) a zoo: the options above
          ls       list the entries of a zoo and their complete / failed runs
          verify   check a zoo's stores, manifests and checksums (paistats.verify)
          push     publish a zoo to the Hugging Face Hub
          presets  list the presets (--show NAME prints one as a config file)

        presets: {', '.join(presets.names())}. Rerunning the same command resumes: runs are
        identified by the hash of their spec and complete runs are skipped. Exit codes: 0 ok,
        1 some runs failed (listed at the end), 2 bad input (one line on stderr, nothing
        written), 130 interrupted.
        """)
    p = _Parser(prog=PROG, description="Build a zoo of pruned-at-initialization networks "
                                       "(Dask-distributed, resumable).",
                epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_build_args(p)
    return p


def _add_build_args(p: argparse.ArgumentParser) -> None:
    _add_source(p, default_preset=True)
    w = p.add_argument_group("workers (one of)").add_mutually_exclusive_group()
    w.add_argument("--gpus", type=_positive_int, metavar="N",
                   help="N local worker processes, one GPU each (CUDA_VISIBLE_DEVICES per worker)")
    w.add_argument("--workers", type=_positive_int, metavar="N",
                   help="N local CPU worker processes, cores/N torch threads each "
                        "(default: min(cores, 8))")
    w.add_argument("--scheduler", metavar="ADDRESS",
                   help="submit to an existing Dask scheduler, e.g. tcp://host:8786 (zoo on a shared "
                        "file system; see docs/slurm.md)")
    p.add_argument("--in-process", action="store_true",
                   help="run the --workers as threads of this process (fast start; tests, debugging)")
    p.add_argument("--torch-threads", type=_positive_int, metavar="N",
                   help="torch threads per worker (default: cores / workers on CPU, 1 per GPU worker)")
    _add_zoo(p)
    p.add_argument("--data-root", metavar="DIR",
                   help="dataset folder (default: $ZOO_DATA or ~/.cache/zoo_builder/data)")
    p.add_argument("--only", metavar="KEY=VALUES", action="append",
                   help="restrict the grid, e.g. --only arch=lenet300 --only seed=0,1 "
                        "(keys: arch, dataset, method, variant, sparsity, seed, entry); repeatable")
    c = p.add_argument_group("device")
    c.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                   help="where runs train (default: cuda with --gpus, cpu with --workers, "
                        "auto with --scheduler)")
    c.add_argument("--amp", action="store_true",
                   help="train under bfloat16 autocast (scores and stored weights stay float32)")
    c.add_argument("--channels-last", action="store_true",
                   help="train convolutions in the channels_last memory format")
    p.add_argument("--skip-failed", action="store_true",
                   help="do not retry runs a previous build recorded as failed")
    p.add_argument("--push-to-hub", metavar="REPO",
                   help="after a build without failures, publish the zoo to this Hub dataset repo "
                        "(token from HF_TOKEN or the huggingface_hub login)")
    p.add_argument("--revision", metavar="REV", help="Hub branch for --push-to-hub (default: main)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the plan (entries, runs, done, estimated cost) and exit; writes nothing")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-run lines (scripts)")
    p.add_argument("--dashboard", action="store_true", help="serve the Dask dashboard on a free port")


def _ls_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=f"{PROG} ls", description="List a zoo's entries and their complete / failed runs; "
                "with --preset/--config, the plan's status against the zoo (as --dry-run).")
    _add_zoo(p)
    _add_source(p, default_preset=False)
    p.add_argument("--only", metavar="KEY=VALUES", action="append", help="restrict the plan (as in build)")
    p.add_argument("--failures", action="store_true", help="print every recorded failure")
    return p


def _verify_parser() -> argparse.ArgumentParser:
    from paistats.cli import VERIFY_DESCRIPTION, add_verify_arguments

    p = _Parser(prog=f"{PROG} verify", description=VERIFY_DESCRIPTION + " (The same command as python -m "
                "paistats verify.)")
    return add_verify_arguments(p)


def _push_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=f"{PROG} push", description="Publish a zoo to a Hugging Face Hub dataset repo "
                "(token from HF_TOKEN or the huggingface_hub login).")
    p.add_argument("repo", help="dataset repo id, org/name")
    _add_zoo(p)
    p.add_argument("--entries", nargs="+", metavar="ENTRY", help="entries to publish (default: all)")
    p.add_argument("--revision", metavar="REV", help="branch (default: main)")
    p.add_argument("--prune", action="store_true",
                   help="also delete remote entries that are not in the local zoo (default: keep them)")
    return p


def _presets_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=f"{PROG} presets", description="List the presets, or print one as a YAML config file.")
    p.add_argument("--show", metavar="NAME", help="print preset NAME in the config-file schema")
    return p


# ----------------------------------------------------------------------------- helpers

def _load_config(args):
    from zoo_builder import config, presets

    if getattr(args, "config", None):
        return config.load(args.config)
    return presets.load(args.preset or presets.DEFAULT)


def _plan(args):
    from zoo_builder import plan as plan_mod

    filters = plan_mod.parse_filters(args.only)  # before the config: a malformed --only needs no torch
    cfg = _load_config(args)
    plan = plan_mod.from_config(cfg)
    _check_only_values(plan, filters)
    return plan.select(filters)


def _only_value(spec, key: str):
    return spec.entry if key == "entry" else getattr(spec, key)


def _check_only_values(plan, filters: dict[str, list[str]]) -> None:
    """Refuse an ``--only`` value no run of ``plan`` has (e.g. ``method=snipp``), naming the close ones.

    Sparsities compare as numbers (``0.50`` is ``0.5``); the other keys as text.
    """
    from paistats.store.grid import same_sparsity
    from paistats.vocabulary import SPARSITY

    for key, wanted in filters.items():
        have = sorted({_only_value(s, key) for s in plan.specs})
        for value in wanted:
            if key == SPARSITY:
                try:
                    found = any(same_sparsity(h, value) for h in have)
                except ValueError:
                    found = False
                shown = [f"{h:g}" for h in have]
            else:
                found = value in {str(h) for h in have}
                shown = [str(h) for h in have]
            if not found:
                raise UsageError(f"--only {key}={value}: no run of plan {plan.name!r} has it; "
                                 + unknown_choice(key, value, shown))


def _status(zoo_dir: Path, plan) -> tuple[dict, dict]:
    """Complete and failed hashes per entry of ``plan`` in ``zoo_dir`` (read-only)."""
    done, failed = {}, {}
    if not zoo_dir.is_dir():
        return done, failed
    from zoo_builder import store

    for entry in plan.entries():
        if (zoo_dir / entry).exists():
            done[entry] = set(store.completed(str(zoo_dir), entry))
            failed[entry] = dict(store.failures(str(zoo_dir), entry))
    return done, failed


def _check_workers(args) -> None:
    if args.in_process and args.gpus:
        raise UsageError("--in-process works with --workers only (one CUDA device per worker process)")
    if args.in_process and args.scheduler:
        raise UsageError("--in-process cannot be combined with --scheduler")


def _check_preset(args) -> None:
    """Refuse an unknown ``--preset`` by name alone (validating a grid imports torch)."""
    if getattr(args, "preset", None):
        from zoo_builder import presets

        presets.get(args.preset)


def _cluster_options(args):
    from zoo_builder.executor import ClusterOptions, available_cores

    _check_workers(args)
    workers = args.workers
    if not (args.gpus or args.scheduler or workers):
        workers = min(available_cores(), 8)
    return ClusterOptions(gpus=args.gpus, workers=workers, scheduler=args.scheduler,
                          in_process=args.in_process, torch_threads=args.torch_threads,
                          dashboard=args.dashboard)


def _device(args) -> str:
    if args.device:
        if args.device == "cuda" and args.workers:
            raise UsageError("--device cuda contradicts --workers (CPU workers); use --gpus N")
        return args.device
    if args.gpus:
        return "cuda"
    if args.scheduler:
        return "auto"
    return "cpu"


def _check_gpus(n: int) -> None:
    import torch

    have = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if have < n:
        raise UsageError(f"--gpus {n}: this machine has {have} CUDA device(s); use --workers N for CPU workers")


# ----------------------------------------------------------------------------- commands

def cmd_build(args) -> int:
    # the checks that need no torch come first: the executor's and the plan's modules import it
    _check_workers(args)
    device = _device(args)
    _check_preset(args)
    zoo_dir = Path(_zoo_option(args)).expanduser()
    if args.revision is not None and not args.push_to_hub:
        raise UsageError("--revision is the Hub branch of --push-to-hub; give --push-to-hub REPO too")
    _check_revision(args.revision)
    _check_zoo_shape(zoo_dir)  # after the arguments: a bad combination reads nothing of the zoo
    from zoo_builder import executor, plan as plan_mod, testing
    from zoo_builder.progress import Progress

    cluster = _cluster_options(args)
    inject = testing.failures_from_env()
    plan = _plan(args)
    if args.dry_run:
        done, failed = _status(zoo_dir, plan)
        print(plan_mod.describe(plan, done=done, failed=failed, workers=cluster.n_workers(),
                                gpu=bool(args.gpus) or device == "cuda", cores=executor.available_cores()))
        return 0
    if args.push_to_hub:
        _check_repo("--push-to-hub", args.push_to_hub)
    if args.gpus:
        _check_gpus(args.gpus)
    if args.data_root and not Path(args.data_root).is_dir():
        raise UsageError(f"--data-root {args.data_root!r} is not a folder; give an existing folder "
                         "(or leave it out for $ZOO_DATA or ~/.cache/zoo_builder/data)")
    _check_zoo_writable(zoo_dir)
    if args.scheduler:
        _check_scheduler(args.scheduler)
    _make_out(zoo_dir)
    progress = Progress(quiet=args.quiet)
    summary = executor.build(plan, zoo_dir, cluster, device=device, amp=args.amp,
                             channels_last=args.channels_last, data_root=args.data_root,
                             skip_failed=args.skip_failed, progress=progress, inject_failure=inject)
    text = summary.text()
    if not args.quiet:
        print(text)
        print(_accuracy_tables(zoo_dir, summary.entries))
    elif not summary.ok:
        print(text, file=sys.stderr)
    if not summary.ok:
        if args.push_to_hub:
            print(f"{PROG}: not pushing to {args.push_to_hub}: {len(summary.failed)} run(s) failed "
                  f"(publish anyway with: {PROG} push {args.push_to_hub} --zoo {shell_path(zoo_dir)})",
                  file=sys.stderr)
        return 1
    if args.push_to_hub:
        return _push(str(zoo_dir), args.push_to_hub, None, args.revision, quiet=args.quiet)
    return 0


def _accuracy_tables(zoo_dir: Path, entries: list[str]) -> str:
    """Mean ± std accuracy tables of the built entries, one per (arch, dataset)."""
    import pandas as pd

    import paistats

    by_arch: dict[str, list[str]] = {}
    for entry in entries:
        by_arch.setdefault(entry.rsplit("-", 1)[0], []).append(entry)
    out = []
    for arch_dataset, names in by_arch.items():
        tables = [paistats.accuracy_summary(paistats.load(e, zoo=zoo_dir)) for e in names]
        out.append(paistats.format_accuracy_summary(pd.concat(tables), title=arch_dataset))
    return "\n\n".join(out)


def _push(zoo_dir: str, repo: str, entries, revision, *, quiet: bool = False, prune: bool = False) -> int:
    from paistats import hub

    _check_repo("push", repo)
    _check_revision(revision)
    result = hub.publish(zoo_dir, repo, entries=entries, revision=revision, token=None, prune=prune)
    if not quiet:
        oid = getattr(result, "oid", None)
        print(f"published {zoo_dir} to {repo}" + (f"@{revision}" if revision else "")
              + (f" (commit {oid})" if oid else " (nothing changed)"))
    return 0


def _zoo_entries(zoo_dir: Path) -> list[str]:
    from paistats.store.index import entry_dirs

    return list(entry_dirs(zoo_dir))


def cmd_ls(args) -> int:
    zoo_dir = Path(_zoo_option(args)).expanduser()
    if args.preset or args.config:
        _check_preset(args)  # the arguments first: a bad preset reads nothing of the zoo
        _check_zoo_shape(zoo_dir)
        from zoo_builder import executor, plan as plan_mod

        plan = _plan(args)
        done, failed = _status(zoo_dir, plan)
        print(plan_mod.describe(plan, done=done, failed=failed, cores=executor.available_cores()))
        return 0
    check_zoo_dir(zoo_dir)
    from zoo_builder import store

    entries = _zoo_entries(zoo_dir)
    if not entries:
        print(f"{zoo_dir}: no entries")
        return 0
    width = max(len(e) for e in entries)
    print(f"{'entry':<{width}}  {'complete':>8}  {'failed':>6}")
    for e in entries:
        done = set(store.completed(str(zoo_dir), e))
        fails = dict(store.failures(str(zoo_dir), e))
        print(f"{e:<{width}}  {len(done):>8}  {len(set(fails) - done):>6}")
        if args.failures:
            for h, err in fails.items():
                if h not in done:
                    print(f"    {h}: {err}")
    return 0


def cmd_verify(args) -> int:
    """``verify``: :func:`paistats.cli.run_verify`, the one implementation of both command lines."""
    from paistats.cli import run_verify

    return run_verify(args.targets, args.zoo)


def cmd_push(args) -> int:
    from paistats.names import check_name

    _check_repo("push", args.repo)
    _check_revision(args.revision)
    for entry in args.entries or ():
        check_name(entry, "entry name (--entries)")
    zoo_dir = check_zoo_dir(_zoo_option(args))
    return _push(str(zoo_dir), args.repo, args.entries, args.revision, prune=args.prune)


def cmd_presets(args) -> int:
    from zoo_builder import plan as plan_mod, presets

    if args.show:
        import yaml

        print(yaml.safe_dump(presets.get(args.show), sort_keys=False), end="")
        return 0
    for name in presets.names():
        p = plan_mod.from_config(presets.load(name))
        marker = " (default)" if name == presets.DEFAULT else ""
        print(f"{name:<16} {len(p):>5} runs  {presets.PRESETS[name]['description']}{marker}")
    return 0


COMMANDS = {"build": (build_parser, cmd_build), "ls": (_ls_parser, cmd_ls),
            "verify": (_verify_parser, cmd_verify), "push": (_push_parser, cmd_push),
            "presets": (_presets_parser, cmd_presets)}


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (``zoo-builder`` console script / ``python -m zoo_builder``)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = "build"
    if argv and argv[0] in SUBCOMMANDS:
        command = argv.pop(0)
    make_parser, fn = COMMANDS[command]
    from paistats import GridError, ZooError
    from paistats.cli import fail

    from zoo_builder.config import ConfigError

    try:
        if argv and not argv[0].startswith("-") and command == "build":
            raise UsageError(unknown_choice("subcommand", argv[0], SUBCOMMANDS) + " (build is the default: "
                             f"{PROG} --preset NAME builds)")
        args = make_parser().parse_args(argv)
        return fn(args)
    except (UsageError, ConfigError, ZooError, OSError) as e:
        # bad input of every kind (arguments, config values, names, files, the Hub): one line, exit 2
        return fail(PROG, e, hints=[(GridError, "build these runs into another zoo folder (--zoo DIR), or "
                                                "keep the entry's grid and training configuration")])
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
