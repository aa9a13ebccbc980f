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
    """``augment run``: exit 0 when the job completes with candidates; 2 with one line naming
    the file, line or key and the cause for a config, input or plan that cannot be used (or a
    job that made no candidate); 1 with one line for what the machine refused (a full disk)."""
    from augment.io.lock import FolderLockedError
    from augment.run.config import ConfigError, RunConfig
    from augment.run.inputs import InputError
    from augment.run.job import Job, JobError
    from augment.run.manifest import ResumeError

    try:
        cfg = RunConfig.load(args.config)
        if args.output is not None:
            cfg.output = args.output.resolve()
        job = Job(
            cfg,
            engine=args.engine,
            restart=args.restart,
            ray_actors=args.actors,
            show_progress=False if args.quiet else None,
            confirm_large=args.yes,
        )
        plan = job.plan()
        if args.dry_run:
            print(plan.describe(cfg))
            return 0
        print(plan.describe(cfg), file=sys.stderr)
        manifest = job.run(plan)
    except (ConfigError, InputError, JobError, ResumeError, FolderLockedError) as exc:
        print(f"augment run: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"augment run: {exc.strerror or exc}{where}; nothing is lost: fix it and run the "
            "same command again to resume",
            file=sys.stderr,
        )
        return 1
    c = manifest["counts"]
    planned = c.get("planned", c["candidates"])  # a persona job plans its candidates
    print(
        f"{c['rows']} rows -> {planned} variants planned: {c['accepted']} accepted, "
        f"{c['rejected']} rejected, {c['errors']} errors ({c.get('row_errors', 0)} rows "
        f"unreadable); see {cfg.output / 'report.md'}"
    )
    if c["candidates"] == 0:
        print(
            f"augment run: no candidate was made ({c['errors']} errors): see "
            f"{cfg.output / 'errors.jsonl'}",
            file=sys.stderr,
        )
        return 2
    return 0


def _bench(args: argparse.Namespace) -> int:
    from augment.bench import suite
    from augment.bench.image import MODELS as IMAGE_MODELS

    tasks = list(suite.TASKS) if args.task == "all" else [args.task]
    overrides = {}
    if args.seeds is not None:
        overrides["seeds"] = args.seeds
    text_overrides = dict(overrides)
    image_overrides = dict(overrides)
    if args.corrupted:
        image_overrides["corrupted"] = True
    models = tuple(m.strip() for m in args.models.split(",")) if args.models else ()
    image_models = tuple(m for m in models if m in IMAGE_MODELS)
    text_models = tuple(m for m in models if m not in IMAGE_MODELS)
    if image_models:  # --models names the models of either benchmark; each takes its own
        image_overrides["models"] = image_models
    if args.sizes:
        text_overrides["sizes"] = tuple(s.strip() for s in args.sizes.split(","))
    if args.variants is not None:
        text_overrides["n_variants"] = args.variants
    if text_models:
        text_overrides["models"] = text_models
    if args.steps:
        text_overrides["step_grid"] = tuple(int(s) for s in args.steps.split(","))
    if args.step_folds is not None:
        text_overrides["step_splits"] = args.step_folds
    if args.test_per_class is not None:
        text_overrides["test_per_class"] = args.test_per_class
    sets = tuple(s.strip() for s in args.sets.split(",")) if args.sets else None
    try:
        if args.checks:
            from augment.run.config import check_spec

            checks = [c.strip() for c in args.checks.split(",") if c.strip()]
            for c in checks:
                check_spec(c)
            text_overrides["checks"] = checks
        if args.strategies is not None:
            if args.task != "text":
                raise ValueError("--strategies is for the text benchmark")
            text_overrides["strategies"] = suite.text_strategies(args.strategies)
            if sets is None and not args.quick:
                sets = suite.ROUND_TWO_SETS
        for task in tasks:
            if task == "text" and (args.train or args.test):
                if not (args.train and args.test):
                    raise ValueError("give both --train and --test")
                name = args.name or args.train.parent.name
                inputs = [(name, args.train, args.test)]
            elif args.data is not None and args.data.is_file():
                if len(tasks) > 1 or task == "text":
                    raise ValueError("--data FILE is for one image or persona benchmark")
                inputs = args.data
            elif args.data is not None:
                inputs = suite.shared_inputs(
                    args.data, task, args.quick, sets if task == "text" else None
                )
            else:
                raise ValueError(
                    f"{task}: give --data (a folder like ../shared/data)"
                    + (" or --train and --test" if task == "text" else "")
                )
            print(
                f"augment bench {task}: running ({'quick' if args.quick else 'full'} mode)",
                file=sys.stderr,
            )
            result, paths, elapsed = suite.run_task(
                task,
                inputs,
                args.out,
                quick=args.quick,
                show_progress=False if args.quiet else None,
                stem=args.stem,
                **{"text": text_overrides, "image": image_overrides}.get(task, overrides),
            )
            print(result.to_markdown(f"{task}"))
            print(f"{task}: {elapsed:.0f} s; wrote {', '.join(str(p) for p in paths.values())}")
    except (ValueError, FileNotFoundError) as exc:
        print(f"augment bench: {exc}", file=sys.stderr)
        return 2
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
    run.add_argument(
        "--yes", action="store_true", help="run a job that plans more than 1,000,000 variants"
    )
    run.set_defaults(func=_run)
    bench = sub.add_parser(
        "bench",
        help="what augmentation and the filter do to a small model, against honest controls",
        description="Downstream benchmarks: arms none / duplicated / unfiltered / filtered / "
        "size-matched (/ targeted), tuned classifiers, paired bootstrap intervals. Writes "
        "downstream_TASK.{json,md,png} to --out.",
    )
    bench.add_argument("task", choices=["text", "image", "persona", "all"])
    bench.add_argument(
        "--data",
        type=Path,
        default=None,
        help="shared data folder (e.g. ../shared/data), or one npz/csv file",
    )
    bench.add_argument("--train", type=Path, default=None, help="text: label<TAB>text file")
    bench.add_argument("--test", type=Path, default=None, help="text: label<TAB>text file")
    bench.add_argument("--name", default=None, help="text: data set name in the tables")
    bench.add_argument("--quick", action="store_true", help="a smoke run of every arm (minutes)")
    bench.add_argument("--seeds", type=int, default=None, help="training samples per size")
    bench.add_argument("--sizes", default=None, help="text: e.g. 500,10/class")
    bench.add_argument("--variants", type=int, default=None, help="text: EDA variants per row")
    bench.add_argument(
        "--models",
        "--model",
        default=None,
        help="text: any of tfidf,minilm,setfit,finetune; image: cnn and/or lite0",
    )
    bench.add_argument(
        "--corrupted",
        action="store_true",
        help="image: also score on the MedMNIST-C corruptions of the test set, per family",
    )
    bench.add_argument(
        "--strategies",
        type=Path,
        default=None,
        help="text: YAML file of strategies (pipeline + filter per arm); see docs/benchmarks/"
        "downstream_round2.md",
    )
    bench.add_argument(
        "--sets", default=None, help="text: data sets under DATA/text, e.g. banking77,trec,sst2"
    )
    bench.add_argument(
        "--steps", default=None, help="text: step budgets the fine-tuned encoders are tuned over"
    )
    bench.add_argument(
        "--step-folds", type=int, default=None, help="text: grouped-CV folds of the step tuning"
    )
    bench.add_argument(
        "--test-per-class",
        type=int,
        default=None,
        help="text: score on a fixed stratified subset of the test file (N rows per class)",
    )
    bench.add_argument("--stem", default=None, help="file name stem of the results")
    bench.add_argument(
        "--checks",
        default=None,
        help="text: the filter's checks in order, e.g. band,label,siblings (default: band)",
    )
    bench.add_argument(
        "--out",
        type=Path,
        default=Path("augment-output/bench"),
        help="where the tables, plots and JSON go",
    )
    bench.add_argument("--quiet", action="store_true", help="no progress bars")
    bench.set_defaults(func=_bench)
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
