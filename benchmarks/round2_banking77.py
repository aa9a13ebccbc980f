"""Round two's first measurement: banking77 at 5 rows per class, SetFit (the recipe in
augment/bench/text_models.py) beside the two round-one classifiers, arms none / duplicated /
EDA / EDA + band / its size-matched control, 3 seeds; written to docs/benchmarks/ as
downstream_round2.{json,md,png}.

    python benchmarks/round2_banking77.py [--data ../shared/data] [--out docs/benchmarks]
                                          [--keep FILE.pkl] [--report-only]

The plan goes into the JSON before anything trains, and the JSON is rewritten after every seed;
``--keep`` also pickles the result after every seed (a file this script wrote itself), so that
``--report-only`` can write the tables and the plot from the seeds that finished if the run has
to stop early (the Markdown then says how many of the planned seeds ran).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from augment.bench import suite  # noqa: E402
from augment.bench.strategies import load_strategies  # noqa: E402
from augment.bench.text import TextBenchmark, new_result, notes  # noqa: E402
from augment.bench.text_models import EncoderSettings  # noqa: E402
from benchmarks.downstream import shared_data_root  # noqa: E402

STEM = "downstream_round2"
TITLE = "Round two: banking77, 5 rows per class, SetFit recipe and two frozen baselines"
SETTINGS = {
    "sizes": ("5/class",),
    "seeds": 3,
    "n_variants": 2,
    "models": ("tfidf", "minilm", "setfit"),
    "step_grid": (10, 20),
    "step_splits": 2,
    "test_per_class": 5,
    "encoder_settings": EncoderSettings(threads=2),
}


def write(result, out: Path) -> None:
    result.meta.setdefault("primary_metric", "macro_f1")
    if "elapsed_s" not in result.meta:
        result.meta["elapsed_s"] = round(time.perf_counter() - START, 1)
    done = sorted({t.seed for t in result.trials})
    result.meta["seeds_done"] = done
    paths = result.write(out, STEM, title=TITLE)
    md = paths["markdown"]
    planned = SETTINGS["seeds"]
    head = (
        f"Seeds finished: {len(done)} of the {planned} planned"
        + ("" if len(done) == planned else " (the run was stopped at the deadline)")
        + ".\n\n"
    )
    md.write_text(head + md.read_text() + "\n" + notes(result))


START = time.perf_counter()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks")
    ap.add_argument("--keep", type=Path, default=None)
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    if args.report_only:
        with open(args.keep, "rb") as fh:  # written by this script
            write(pickle.load(fh), args.out)
        return
    data = args.data or shared_data_root()
    ((name, train, test),) = suite.shared_inputs(data, "text", sets=("banking77",))
    strategies = load_strategies(REPO / "benchmarks" / "strategies" / "eda_band.yaml")

    def update(result) -> None:
        result.write_json(args.out / f"{STEM}.json")
        if args.keep is not None:
            with open(args.keep, "wb") as fh:
                pickle.dump(result, fh)

    result = new_result()
    result.meta["mode"] = "round two, banking77 5/class"
    result.meta["machine"] = (
        "2-core AMD EPYC, 24 GiB, torch 2.13.0 CPU, shared with other jobs (load 12-27)"
    )
    TextBenchmark(
        train,
        test,
        name=name,
        strategies=strategies,
        show_progress=False,
        on_update=update,
        **SETTINGS,
    ).run(result)
    write(result, args.out)


if __name__ == "__main__":
    main()
