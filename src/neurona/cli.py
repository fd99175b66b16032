"""The ``neurona`` command: parses and checks arguments, then delegates to experiments, datasets and viz.

Every value is checked while parsing, by the ``type=`` functions below that all subcommands share,
so a bad value ends as an argparse error (exit status 2) before any folder is created.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import sys
import typing
from pathlib import Path

INT_MAX = 2**31 - 1  # larger counts are typing mistakes, and would overflow NumPy's int32 on some platforms
NON_NEGATIVE_INTS = {"seed", "warmup_epochs"}
MAXIMA = {"n_train": 50000, "n_test": 10000,  # CIFAR-10's training and test sets
          "hidden": 16384, "hidden_values": 16384, "narrow_hidden": 16384}  # wider layers would not fit in memory
NON_NEGATIVE_FLOATS = {"lam", "alt_lam", "alt_lr"}  # 0 turns the penalty or the extra runs off
FRACTIONS = {"dropout"}
CHOICES = {"engine": ("framework", "reference"), "losses": ("mse", "svm", "cce"), "outputs": ("sigmoid", "linear")}
PLOTTING = ("run", "reproduce", "sweep")  # the commands that draw figures with matplotlib
PARALLEL_RUNS = ("xor", "parity", "ex3", "ex4", "ex5", "ex8", "linear")  # `run` experiments with --jobs / --scheduler


# ----- argument types: each returns the value or raises ArgumentTypeError naming what was expected -----
def _integer(text: str, minimum: int, maximum: int = INT_MAX) -> int:
    try:
        value = int(text, 10)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be an integer. Received: {text!r}") from None
    if not minimum <= value <= maximum:
        raise argparse.ArgumentTypeError(f"must be an integer from {minimum} to {maximum}. Received: {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer from 1 to INT_MAX ("0", "-3", "2.5", "true" and "1e9999" are refused)."""
    return _integer(text, 1)


def int_up_to(maximum: int):
    """The type of an integer from 1 to ``maximum`` (image counts, layer widths)."""
    def checked(text: str) -> int:
        return _integer(text, 1, maximum)

    checked.__name__ = f"int_up_to_{maximum}"
    return checked


def non_negative_int(text: str) -> int:
    """An integer from 0 to INT_MAX (seeds)."""
    return _integer(text, 0)


def _finite(text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be a number. Received: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number. Received: {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (learning rates, init factors): "0", "nan", "inf", "1e-400" and "true" are refused."""
    value = _finite(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0. Received: {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (penalties, where 0 turns them off)."""
    value = _finite(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0. Received: {text!r}")
    return value


def fraction(text: str) -> float:
    """A number in [0, 1) (dropout rates)."""
    value = _finite(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 up to (not including) 1. Received: {text!r}")
    return value


def path_text(text: str) -> str:
    """A non-empty path (an empty -o would mean the current folder)."""
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"must be a non-empty path. Received: {text!r}")
    return text


def _field_type(name: str, default):
    """The argument type of a Config field, from its name and the type of its default."""
    if isinstance(default, int) and name in MAXIMA:
        return int_up_to(MAXIMA[name])
    if isinstance(default, int):
        return non_negative_int if name in NON_NEGATIVE_INTS else positive_int
    if isinstance(default, float):
        return fraction if name in FRACTIONS else non_negative_float if name in NON_NEGATIVE_FLOATS else positive_float
    return str


# ----- the parser -----
def _add_config_flags(parser: argparse.ArgumentParser, config_cls) -> None:
    """One flag per field of the experiment's Config dataclass, typed and checked by its default."""
    hints = typing.get_type_hints(config_cls)
    for field in dataclasses.fields(config_cls):
        flag = "--" + field.name.replace("_", "-")
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=f"(default {default})")
            continue
        if default is None:
            args = [a for a in typing.get_args(hints.get(field.name)) if a is not type(None)]
            default = args[0]() if args and args[0] in (int, float) else ""
        sample = default[0] if isinstance(default, (list, tuple)) and default else default
        options = {"type": _field_type(field.name, sample), "default": None, "choices": CHOICES.get(field.name)}
        if isinstance(default, (list, tuple)):
            options.update(nargs="+", help=f"(default {' '.join(map(str, default))})")
        else:
            options.update(help=f"(default {default})")
        parser.add_argument(flag, **options)


def _config_from(parser, args, config_cls, quick: bool):
    """The Config with the flags applied; a value the Config itself refuses is a usage error (exit 2)."""
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls)}
    changes = {name: value for name, value in given.items() if value is not None}
    try:
        config = config_cls.quick() if quick and hasattr(config_cls, "quick") else config_cls()
        changes = {k: tuple(v) if isinstance(getattr(config, k), tuple) else v for k, v in changes.items()}
        return dataclasses.replace(config, **changes)
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))


def _output_options(p: argparse.ArgumentParser, what: str, resume: str) -> None:
    """-o, --overwrite / --resume and -q, the same for `run NAME` and `reproduce`."""
    both = p.add_mutually_exclusive_group()
    both.add_argument("--overwrite", action="store_true", help=f"replace the {what} neurona wrote in a non-empty "
                      "output folder (files of yours there are kept)")
    both.add_argument("--resume", action="store_true", help=resume)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def _executor_options(p: argparse.ArgumentParser) -> None:
    """--jobs and --scheduler: where the runs of a command train (see neurona.parallel)."""
    from .parallel.executors import usable_cores

    p.add_argument("-j", "--jobs", type=positive_int, default=None,
                   help=f"local worker processes that train runs side by side (default one per usable core, "
                        f"here {usable_cores()}); 1 trains them one after another in this process")
    p.add_argument("--scheduler", default=None, type=path_text, metavar="tcp://HOST:8786",
                   help="train on this Dask cluster instead (default $DASK_SCHEDULER_ADDRESS if set); "
                        "needs pip install 'neurona[cluster]'")


def _add_sweep_parser(sub) -> None:
    from .experiments.sweep import SWEEPABLE

    p = sub.add_parser("sweep", help="grid or random search over an experiment's hyperparameters: runs.csv and plots",
                       description="Train every point of a grid (or random draws) times --seeds seeds, in "
                       "parallel; write runs.csv (one row per run) and plots. Example: neurona sweep parity "
                       "--grid n=2:10 hidden=1,2,3,5,10,15 --seeds 10 --jobs 2")
    p.add_argument("experiment", choices=list(SWEEPABLE))
    p.add_argument("--grid", nargs="+", default=[], type=grid_item, metavar="NAME=VALUES",
                   help="values as a,b,c or an integer range LOW:HIGH (inclusive); one value fixes a parameter")
    p.add_argument("--random", nargs="+", default=[], type=random_item, metavar="NAME=LOW:HIGH[:log]",
                   help="draw the parameter --samples times, uniformly (or log-uniformly)")
    p.add_argument("--samples", type=positive_int, default=None, help="random points (with --random; default 10)")
    p.add_argument("--seeds", type=positive_int, default=3, help="runs per point (default 3)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="first seed; also draws the random points")
    p.add_argument("--metric", default=None, help="the runs.csv column to plot (default: the experiment's)")
    p.add_argument("-o", "--output", default=None, type=path_text, help="output folder (default runs/sweep-NAME)")
    _output_options(p, "results", "train only the runs an earlier sweep in the output folder did not finish")
    _executor_options(p)


def grid_item(text: str) -> tuple:
    """NAME=a,b,c or NAME=LOW:HIGH (integers, inclusive) → (NAME, values); the syntax is the sweep's."""
    from .experiments.sweep import parse_grid_item

    try:
        return parse_grid_item(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def random_item(text: str) -> tuple:
    """NAME=LOW:HIGH or NAME=LOW:HIGH:log → (NAME, (low, high, scale)); the syntax is the sweep's."""
    from .experiments.sweep import parse_random_item

    try:
        return parse_random_item(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _build_parser() -> tuple:
    """The parser, the ``graph`` sub-parser, and each ``run`` sub-parser by experiment name (flags added on demand)."""
    from . import __version__, experiments
    from .experiments.graphs import ACTIVATIONS

    parser = argparse.ArgumentParser(prog="neurona", description="neurona: neural networks on NumPy, "
                                     "and the 'Introduction to Neural Networks' practical reproduced.")
    parser.add_argument("--version", action="version", version=f"neurona {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    graph = sub.add_parser("graph", help="draw or tabulate the computational graphs of exercises 1 and 2, "
                           "or of one training step of a small conv net (cnn)")
    graph.add_argument("exercise", choices=["ex1", "ex2", "cnn"])
    graph.add_argument("--activation", default=None, choices=ACTIVATIONS, help="ex1 only (default sigmoid)")
    graph.add_argument("--decompose", action="store_true", help="ex1: draw the activation as elementary ops")
    graph.add_argument("-o", "--output", default=None, type=path_text,
                       help="file to draw (.svg, .png, .pdf or .dot); without it, print the values")

    run = sub.add_parser("run", help="run one exercise; `neurona run NAME --help` lists its settings")
    run_sub, run_parsers = run.add_subparsers(dest="experiment", required=True), {}
    for name, (_, description) in experiments.REGISTRY.items():
        p = run_sub.add_parser(name, help=description, description=description)
        p.add_argument("-o", "--output", default=None, type=path_text, help=f"output folder (default runs/{name})")
        p.add_argument("--quick", action="store_true", help="a reduced run that finishes quickly")
        _output_options(p, "results", "continue an interrupted run in the same output folder")
        if name in PARALLEL_RUNS:
            _executor_options(p)
        run_parsers[name] = p

    data = sub.add_parser("data", help="fetch and check datasets")
    data.add_argument("dataset", nargs="?", choices=["cifar10"], help="fetch (download if needed) and verify")
    data.add_argument("--dir", default=None, type=path_text,
                      help="data folder (default: $NEURONA_DATA, else the user cache)")
    data.add_argument("--info", action="store_true", help="say where the data is and whether it is valid")

    _add_sweep_parser(sub)

    rep = sub.add_parser("reproduce", help="run exercises 1-8 and write one self-contained HTML report")
    rep.add_argument("-o", "--output", default="report", type=path_text, help="output folder (default ./report)")
    rep.add_argument("--quick", action="store_true", help="a reduced version of each exercise (about a minute)")
    _output_options(rep, "report's files", "continue the report in the output folder: rerun only the exercises "
                    "that were skipped (e.g. no CIFAR-10), failed or interrupted")
    _executor_options(rep)
    return parser, graph, run_parsers


def _parse(argv):
    parser, graph, run_parsers = _build_parser()
    argv = list(argv)
    config_cls = None
    if len(argv) >= 2 and argv[0] == "run" and argv[1] in run_parsers:
        from . import experiments  # add this experiment's flags (importing only it), so --help lists them

        config_cls = experiments.get(argv[1]).Config
        _add_config_flags(run_parsers[argv[1]], config_cls)
    args = parser.parse_args(argv)
    if config_cls is not None:
        args.config = _config_from(run_parsers[argv[1]], args, config_cls, args.quick)
    if args.command == "graph" and args.exercise == "ex2" and args.activation is not None:
        graph.error(f"argument --activation: applies to ex1 only (ex2 uses sigmoid). Received: {args.activation!r}")
    return args


# ----- the commands -----
def _cmd_graph(args) -> int:
    from .experiments.graphs import run

    print(run(args.exercise, activation=args.activation, output=args.output, decompose=args.decompose))
    return 0


def _cmd_run(args) -> int:
    from . import experiments
    from .experiments._common import RunInterrupted, RunsFailed

    experiment = experiments.get(args.experiment)
    out = Path(args.output or Path("runs") / args.experiment)
    again = f"neurona run {args.experiment} --resume -o {out}"
    try:
        parallel = {"jobs": args.jobs, "scheduler": args.scheduler} if hasattr(args, "jobs") else {}
        summary = experiment.run(args.config, out, verbose=0 if args.quiet else 1, overwrite=args.overwrite,
                                 resume=args.resume, **parallel)
    except RunInterrupted as exc:
        print(f"neurona run {args.experiment}: {exc}", file=sys.stderr)
        print(f"Interrupted: continue with  {again}", file=sys.stderr)
        return 130
    except RunsFailed as exc:
        print(f"neurona run {args.experiment}: {exc}", file=sys.stderr)
        print(f"After fixing the cause, train the missing runs with  {again}", file=sys.stderr)
        return 1
    print(f"Results written to {out}/")
    for line in summary.get("headline", []):
        print("  " + line)
    if summary.get("results", {}).get("interrupted"):
        print(f"Interrupted: continue with  {again}", file=sys.stderr)
        return 130
    return 0


def _cmd_sweep(args) -> int:
    from .experiments import sweep

    out = Path(args.output or Path("runs") / f"sweep-{args.experiment}")
    samples = args.samples if args.samples is not None else (10 if args.random else 0)
    config = sweep.Config(args.experiment, grid=dict(args.grid), random=dict(args.random), samples=samples,
                          seeds=args.seeds, seed=args.seed, metric=args.metric)
    summary = sweep.run(config, out, verbose=0 if args.quiet else 1, overwrite=args.overwrite, resume=args.resume,
                        jobs=args.jobs, scheduler=args.scheduler)
    print(f"Results written to {out}/ ({', '.join(['runs.csv'] + [f for f in summary['files'] if f.endswith('.png')])})")
    for line in summary.get("headline", []):
        print("  " + line)
    results = summary["results"]
    return 130 if results.get("interrupted") else 1 if results["runs_done"] < results["runs_total"] else 0


def _cmd_data(args) -> int:
    from .datasets import cifar10

    if args.info or not args.dataset:
        info = cifar10.info(args.dir)
        print("\n".join(describe_data(info)))
        return 0 if info.get("parses") else 1
    path = cifar10.fetch(args.dir)
    print(f"CIFAR-10 is ready: {path}")
    return 0


def describe_data(info: dict) -> list:
    """``cifar10.info()`` as sentences for the terminal."""
    where = f"{info['location']} (from the {info['location_from']})"
    if not info.get("found"):
        return [f"CIFAR-10 was not found in {where}.",
                "Looked for: " + ", ".join(info.get("searched", [])) + ".",
                "To get it, run  neurona data cifar10  (downloads the 163 MB official archive), or set",
                "NEURONA_DATA=/path/to/folder holding cifar-10-python.tar.gz (or .tar.xz, or cifar-10-batches-py/)."]
    size = f", {info['size_bytes'] / 1e6:.0f} MB" if info.get("size_bytes") else ""
    lines = [f"CIFAR-10 found: {info['found']} ({info['format']}{size}), in {where}."]
    if not info.get("parses"):
        return lines + [f"It cannot be read: {info.get('error')}",
                        "Replace it with the official archive, e.g. delete it and run  neurona data cifar10"]
    lines.append(f"It reads correctly: {info['train_batches']} training batches, {info['train_images']:,} training "
                 f"and {info['test_images']:,} test images, classes {', '.join(info.get('label_names') or [])}.")
    cache = info.get("cache") or {}
    if cache.get("status") == "fresh":
        lines.append(f"Decoded arrays are cached in {cache.get('path')}, so loading takes under a second.")
    else:
        lines.append(f"The cache of decoded arrays is {cache.get('status', 'missing')}; the next load rebuilds it.")
    return lines


def _cmd_reproduce(args) -> int:
    from .experiments import report
    from .experiments._common import RunInterrupted

    out = Path(args.output)
    mode = " --quick" if args.quick else ""
    again = f"neurona reproduce{mode} --resume -o {out}"
    try:
        path = report.reproduce(out, quick=args.quick, overwrite=args.overwrite, resume=args.resume,
                                verbose=0 if args.quiet else 1, jobs=args.jobs, scheduler=args.scheduler)
    except RunInterrupted as exc:
        print(f"neurona reproduce: interrupted ({exc}). The page shows what finished: {out / 'report.html'}",
              file=sys.stderr)
        print(f"Continue with  {again}", file=sys.stderr)
        return 130
    print(f"Report written to {path}  (open it in a browser)")
    for line in _report_advice(path.parent / "report.json", again):
        print(line)
    return 0


def _report_advice(state_path: Path, again: str) -> list:
    """What the report could not do, said once, and the command that finishes it."""
    try:
        exercises = json.loads(state_path.read_text(encoding="utf-8"))["exercises"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    skipped = [n for n, e in exercises.items() if e.get("status") == "skipped"]
    failed = [n for n, e in exercises.items() if e.get("status") == "failed"]
    lines = []
    if skipped:
        why = str(exercises[skipped[0]].get("message", "")).replace(" To fix it, ", "\nTo fix it, ")
        lines.append(f"Skipped {', '.join(skipped)}: {why}")
        lines.append(f"Then finish the report with  {again}")
    if failed:
        lines.append(f"Failed: {', '.join(failed)} (the page shows each error). After fixing it, run  {again}")
    return lines


def _matplotlib_missing(command: str) -> int:
    print(f"neurona {command}: error: this command draws figures with matplotlib, which is not installed. "
          "Install it with  pip install 'neurona[plot]'  (or pip install matplotlib), then run the command again.",
          file=sys.stderr)
    return 2


def main(argv=None) -> int:
    """Entry point of the ``neurona`` console script."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    if args.command in PLOTTING and importlib.util.find_spec("matplotlib") is None:
        return _matplotlib_missing(args.command)  # found before any training, not after it
    handler = {"graph": _cmd_graph, "run": _cmd_run, "data": _cmd_data, "reproduce": _cmd_reproduce,
               "sweep": _cmd_sweep}[args.command]
    try:
        return handler(args)
    except (ValueError, TypeError, OSError) as exc:  # OSError: missing files, downloads, checksums
        print(f"neurona {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"neurona {args.command}: error: not enough memory for these settings; try smaller sizes",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"neurona {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
