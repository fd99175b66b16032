"""The ``neurona`` command: parses arguments, then delegates to experiments, datasets and viz."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path


def _add_config_flags(parser: argparse.ArgumentParser, config_cls) -> None:
    """One ``--field`` flag per field of the experiment's Config dataclass, typed by its default."""
    hints = typing.get_type_hints(config_cls)
    for field in dataclasses.fields(config_cls):
        flag = "--" + field.name.replace("_", "-")
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        hint = hints.get(field.name)
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=f"(default {default})")
        elif isinstance(default, (list, tuple)):
            item = type(default[0]) if default else str
            parser.add_argument(flag, nargs="+", type=item, default=None, help=f"(default {' '.join(map(str, default))})")
        else:
            kind = _scalar_type(default, hint)
            parser.add_argument(flag, type=kind, default=None, help=f"(default {default})")


def _scalar_type(default, hint):
    if default is None:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0] if args and args[0] in (int, float, str) else str
    return type(default)


def _config_from(args, config_cls, quick: bool):
    config = config_cls.quick() if quick and hasattr(config_cls, "quick") else config_cls()
    changes = {f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls) if getattr(args, f.name) is not None}
    changes = {k: tuple(v) if isinstance(getattr(config, k), tuple) else v for k, v in changes.items()}
    return dataclasses.replace(config, **changes)


def _build_parser() -> tuple:
    """The parser, and each ``run`` sub-parser by experiment name (their --flags are added on demand)."""
    from . import __version__, experiments

    parser = argparse.ArgumentParser(prog="neurona", description="neurona: neural networks on NumPy, "
                                     "and the 'Introduction to Neural Networks' practical reproduced.")
    parser.add_argument("--version", action="version", version=f"neurona {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    graph = sub.add_parser("graph", help="draw or tabulate the computational graphs of exercises 1 and 2")
    graph.add_argument("exercise", choices=["ex1", "ex2"])
    graph.add_argument("--activation", default=None, help="ex1: sigmoid, tanh, elu or leaky_relu (default sigmoid)")
    graph.add_argument("--decompose", action="store_true", help="ex1: draw the activation as elementary ops")
    graph.add_argument("-o", "--output", default=None, help="file to draw (.svg, .png, .pdf or .dot); "
                       "without it, print the values")

    run = sub.add_parser("run", help="run one exercise; `neurona run NAME --help` lists its settings")
    run_sub, run_parsers = run.add_subparsers(dest="experiment", required=True), {}
    for name, (_, description) in experiments.REGISTRY.items():
        p = run_sub.add_parser(name, help=description, description=description)
        p.add_argument("-o", "--output", default=None, help=f"output folder (default runs/{name})")
        p.add_argument("--quick", action="store_true", help="a reduced run that finishes quickly")
        p.add_argument("--overwrite", action="store_true", help="replace the results in a non-empty output folder")
        p.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
        run_parsers[name] = p

    data = sub.add_parser("data", help="fetch and check datasets")
    data.add_argument("dataset", nargs="?", choices=["cifar10"], help="fetch (download if needed) and verify")
    data.add_argument("--dir", default=None, help="data folder (default: $NEURONA_DATA, else the user cache)")
    data.add_argument("--info", action="store_true", help="say where the data is and whether it is valid")

    rep = sub.add_parser("reproduce", help="run exercises 1-8 and write one self-contained HTML report")
    rep.add_argument("-o", "--output", default="report", help="output folder (default ./report)")
    rep.add_argument("--quick", action="store_true", help="a reduced version of each exercise (a few minutes)")
    rep.add_argument("--overwrite", action="store_true", help="replace a previous report in the folder")
    rep.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    return parser, run_parsers


def _parse(argv):
    parser, run_parsers = _build_parser()
    argv = list(argv)
    config_cls = None
    if len(argv) >= 2 and argv[0] == "run" and argv[1] in run_parsers:
        from . import experiments  # add this experiment's --flags (importing only it), so --help lists them

        config_cls = experiments.get(argv[1]).Config
        _add_config_flags(run_parsers[argv[1]], config_cls)
    args = parser.parse_args(argv)
    if config_cls is not None:
        args.config = _config_from(args, config_cls, args.quick)
    return args


def _cmd_graph(args) -> int:
    from .experiments.graphs import run

    print(run(args.exercise, activation=args.activation, output=args.output, decompose=args.decompose))
    return 0


def _cmd_run(args) -> int:
    from . import experiments
    from .experiments._common import RunInterrupted

    experiment = experiments.get(args.experiment)
    out = Path(args.output or Path("runs") / args.experiment)
    try:
        summary = experiment.run(args.config, out, verbose=0 if args.quiet else 1, overwrite=args.overwrite,
                                 resume=args.resume)
    except RunInterrupted as exc:
        print(f"neurona run {args.experiment}: {exc}", file=sys.stderr)
        print(f"Interrupted: continue with  neurona run {args.experiment} --resume -o {out}", file=sys.stderr)
        return 130
    print(f"Results written to {out}/")
    for line in summary.get("headline", []):
        print("  " + line)
    if summary.get("results", {}).get("interrupted"):
        print(f"Interrupted: continue with  neurona run {args.experiment} --resume -o {out}", file=sys.stderr)
        return 130
    return 0


def _cmd_data(args) -> int:
    from .datasets import cifar10

    if args.info or not args.dataset:
        info = cifar10.info(args.dir)
        for key, value in info.items():
            print(f"{key}: {value}")
        return 0 if info.get("parses") else 1
    path = cifar10.fetch(args.dir)
    print(f"CIFAR-10 is ready: {path}")
    return 0


def _cmd_reproduce(args) -> int:
    from .experiments import report

    path = report.reproduce(Path(args.output), quick=args.quick, overwrite=args.overwrite,
                            verbose=0 if args.quiet else 1)
    print(f"Report written to {path}")
    return 0


def main(argv=None) -> int:
    """Entry point of the ``neurona`` console script."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    handler = {"graph": _cmd_graph, "run": _cmd_run, "data": _cmd_data, "reproduce": _cmd_reproduce}[args.command]
    try:
        return handler(args)
    except (ValueError, TypeError, OSError) as exc:  # OSError: missing files, downloads, checksums
        print(f"neurona {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"neurona {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
