"""Round two's measurements, each a pre-registered plan run set by set and written to
docs/benchmarks/ as ``<stem>.{json,md,png}``:

* ``first``: banking77 at 5 rows per class; SetFit beside the two round-one classifiers; arms
  none / duplicated / EDA / EDA + band / its size-matched control; 3 seeds
  (``downstream_round2``).
* ``second``: TREC, SST-2 and banking77 at 5 rows per class; frozen MiniLM and SetFit (its
  head's C tuned per arm); the same EDA candidates kept by the band or by the label check, and on
  TREC and SST-2 SmolLM2 paraphrases and LAMBADA-style label-conditioned texts, unfiltered and
  kept by the label check; every filtered arm against its size-matched control; 3 seeds
  (``downstream_round2_label``).

    python benchmarks/round2.py [--plan second] [--data ../shared/data] [--out docs/benchmarks]
                                [--keep FILE.pkl] [--sets trec,sst2] [--threads 1]
    python benchmarks/round2.py --report-only --keep A.pkl [--merge B.pkl ...]

The plan goes into the JSON before anything trains, and the JSON is rewritten after every seed;
``--keep`` also pickles the result after every seed (a file this script wrote itself), so that
``--report-only`` can write the tables and the plot from the seeds that finished if the run has
to stop early (the Markdown then says how many of the planned seeds ran). Sets of one plan can
run in parallel processes (``--sets``, each with its own ``--keep`` and ``--out``); ``--merge``
then reports them together.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from augment.bench import suite  # noqa: E402
from augment.bench.strategies import load_strategies  # noqa: E402
from augment.bench.text import TextBenchmark, new_result, notes  # noqa: E402
from augment.bench.text_models import EncoderSettings  # noqa: E402
from benchmarks.downstream import shared_data_root  # noqa: E402

STRATEGIES = REPO / "benchmarks" / "strategies"

#: name -> stem, title, machine note, and per set: its strategies file and TextBenchmark settings.
PLANS: dict[str, dict[str, Any]] = {
    "first": {
        "stem": "downstream_round2",
        "title": "Round two: banking77, 5 rows per class, SetFit recipe and two frozen baselines",
        "machine": "2-core AMD EPYC, 24 GiB, torch 2.13.0 CPU, shared with other jobs (load 12-27)",
        "sets": {
            "banking77": {
                "strategies": "eda_band.yaml",
                "sizes": ("5/class",),
                "seeds": 3,
                "n_variants": 2,
                "models": ("tfidf", "minilm", "setfit"),
                "step_grid": (10, 20),
                "step_splits": 2,
                "test_per_class": 5,
            }
        },
    },
    "second": {
        "stem": "downstream_round2_label",
        "title": "Round two: band or label check, EDA or a language model, 5 rows per class",
        "machine": "2-core AMD EPYC, 24 GiB, torch 2.13.0 CPU, quiet but for one other benchmark",
        "sets": {
            name: {
                "strategies": strategies,
                "sizes": ("5/class",),
                "seeds": 3,
                "n_variants": 4,
                "models": ("minilm", "setfit"),
                "step_grid": (20, 40),
                "step_splits": 2,
                "test_per_class": per_class,
                "n_splits": splits,
            }
            # banking77's heads (77 classes, up to 1,925 rows) tune C by 2-fold CV: 4 folds did
            # not fit the session on one core (chosen before any banking77 trial ran)
            for name, strategies, per_class, splits in (
                ("trec", "lm_label.yaml", None, 4),
                ("sst2", "lm_label.yaml", 250, 4),
                ("banking77", "label_vs_band.yaml", 5, 2),
            )
        },
    },
}


def write(result: Any, out: Path, plan: dict[str, Any], started: float | None) -> None:
    result.meta.setdefault("primary_metric", "macro_f1")
    if started is not None:  # a report of pickled seeds keeps no run time
        result.meta["elapsed_s"] = round(time.perf_counter() - started, 1)
    done = {
        name: sorted({t.seed for t in result.trials if t.dataset == name}) for name in plan["sets"]
    }
    result.meta["seeds_done"] = done
    paths = result.write(out, plan["stem"], title=plan["title"])
    md = paths["markdown"]
    lines = [
        f"- {name}: {len(done[name])} of the {s['seeds']} planned seeds finished"
        for name, s in plan["sets"].items()
    ]
    head = "Seeds finished (the run is stopped at its deadline):\n\n" + "\n".join(lines) + "\n\n"
    md.write_text(head + md.read_text() + "\n" + notes(result))


def merged(paths: list[Path]) -> Any:
    """One result from the ``--keep`` pickles (written by this script) of runs of one plan on
    different sets: their trials, test labels, plans, budgets and comparisons together."""
    results = []
    for path in paths:
        with open(path, "rb") as fh:
            results.append(pickle.load(fh))
    for r in results:  # pickles made before BenchResult had these fields
        for name, default in (("groups", {}), ("_differences", None)):
            if name not in vars(r):
                setattr(r, name, default)
    out = results[0]
    for other in results[1:]:
        clash = set(out.truth) & set(other.truth)
        if clash:
            raise SystemExit(f"both runs hold {sorted(clash)}: merge runs of other sets")
        out.trials.extend(other.trials)
        out.truth.update(other.truth)
        out.groups.update(other.groups)
        out.pairs = list(dict.fromkeys([*map(tuple, out.pairs), *map(tuple, other.pairs)]))
        for key in ("plan", "datasets", "budgets"):
            out.meta.setdefault(key, {}).update(other.meta.get(key, {}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plan", choices=sorted(PLANS), default="second")
    ap.add_argument("--sets", default="", help="only these of the plan's sets (comma-separated)")
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks")
    ap.add_argument("--threads", type=int, default=2, help="torch threads of the fine-tuning")
    ap.add_argument("--keep", type=Path, default=None)
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument(
        "--merge",
        type=Path,
        nargs="*",
        default=[],
        help="with --report-only: more --keep files (other sets of the plan run in parallel)",
    )
    args = ap.parse_args()
    plan = PLANS[args.plan]
    started = time.perf_counter()
    if args.report_only:
        write(merged([args.keep, *args.merge]), args.out, plan, None)
        return
    data = args.data or shared_data_root()
    chosen = [s for s in args.sets.split(",") if s] or list(plan["sets"])
    result = new_result()
    result.meta["mode"] = f"round two, plan {args.plan!r}"
    result.meta["machine"] = plan["machine"]

    def update(result: Any) -> None:
        result.write_json(args.out / f"{plan['stem']}.json")
        if args.keep is not None:
            with open(args.keep, "wb") as fh:
                pickle.dump(result, fh)

    for name in chosen:
        settings = dict(plan["sets"][name])
        strategies = load_strategies(STRATEGIES / settings.pop("strategies"))
        ((_, train, test),) = suite.shared_inputs(data, "text", sets=(name,))
        TextBenchmark(
            train,
            test,
            name=name,
            strategies=strategies,
            show_progress=False,
            on_update=update,
            encoder_settings=EncoderSettings(threads=args.threads),
            **settings,
        ).run(result)
        write(result, args.out, plan, started)
    write(result, args.out, plan, started)


if __name__ == "__main__":
    main()
