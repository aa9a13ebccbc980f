"""The `augment` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from augment._version import __version__


def _demo(args: argparse.Namespace) -> int:
    from augment import demo

    only = args.only.split(",") if args.only else None
    if only:
        unknown = sorted(set(only) - set(demo.available()))
        if unknown:
            print(
                f"augment demo: unknown section(s) {unknown}; available: {demo.available()}",
                file=sys.stderr,
            )
            return 2
    if args.data is not None and not args.data.is_dir():
        print(f"augment demo: --data {args.data} is not a folder", file=sys.stderr)
        return 2
    demo.run(args.data, args.out, only)
    return 0


def _run(args: argparse.Namespace) -> int:
    from augment.config import ConfigError, RunConfig
    from augment.io.inputs import InputError
    from augment.io.manifest import ResumeError
    from augment.job import Job

    try:
        cfg = RunConfig.load(args.config)
        if args.output is not None:
            cfg.output = args.output
        job = Job(
            cfg,
            engine=args.engine,
            restart=args.restart,
            ray_actors=args.actors,
            show_progress=False if args.quiet else None,
        )
        plan = job.plan()
        if args.dry_run:
            print(plan.describe(cfg))
            return 0
        print(plan.describe(cfg), file=sys.stderr)
        manifest = job.run(plan)
    except (ConfigError, InputError, ResumeError, FileNotFoundError) as exc:
        print(f"augment run: {exc}", file=sys.stderr)
        return 2
    c = manifest["counts"]
    print(
        f"{c['rows']} rows -> {c['candidates']} candidates: {c['accepted']} accepted, "
        f"{c['rejected']} rejected, {c['errors']} errors; see {cfg.output / 'report.md'}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="augment",
        description="Targeted data augmentation with a semantic-fidelity filter.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a tour on shipped example data")
    demo.add_argument(
        "--data",
        type=Path,
        default=None,
        help="folder of larger real data sets (e.g. ../shared/data)",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("augment-output/demo"),
        help="where plots and tables go (default: augment-output/demo)",
    )
    demo.add_argument("--only", default=None, help="comma-separated sections, e.g. text,image")
    demo.set_defaults(func=_demo)
    run = sub.add_parser("run", help="pre-generate an augmented data set from a config (resumable)")
    run.add_argument("config", type=Path, help="YAML or JSON job config")
    run.add_argument("--dry-run", action="store_true", help="print the plan and stop")
    run.add_argument("--engine", choices=["local", "ray"], default="local")
    run.add_argument("--actors", type=int, default=2, help="Ray actors (with --engine ray)")
    run.add_argument("--output", type=Path, default=None, help="override the config's output")
    run.add_argument(
        "--restart",
        action="store_true",
        help="discard a previous run in the output folder instead of resuming",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar, one line per shard")
    run.set_defaults(func=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
