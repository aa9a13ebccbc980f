"""Downstream benchmarks, full mode, written to docs/benchmarks/: what augmentation and the
fidelity filter do to a model trained on a small training set, against honest controls.

    python benchmarks/downstream.py [--data ../shared/data] [--tasks text,image,persona] [--quick]
                                    [--out docs/benchmarks]

The same as ``augment bench all --data ../shared/data --out docs/benchmarks``, with the EDA
paper's figures beside ours in the text results; see docs/benchmarks/downstream.md for the
method and the results. The data folder defaults to ``$AUGMENT_SHARED_DATA``, else
``../shared/data`` beside this checkout (a default of this script only: the installed package
knows no data location).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from augment.bench import suite  # noqa: E402

#: The EDA paper's reported gains (Wei & Zou 2019, CNN/RNN on GloVe, mean of five data sets),
#: printed beside ours for reference.
EDA_PAPER = {
    "500 training rows": "+3.0 accuracy points",
    "full training sets": "+0.8 accuracy points",
    "models": "CNN and RNN on GloVe, mean of SST-2, CR, SUBJ, TREC, PC",
}


def shared_data_root() -> Path:
    """``$AUGMENT_SHARED_DATA``, else ``../shared/data`` beside this checkout."""
    return Path(os.environ.get("AUGMENT_SHARED_DATA", REPO.parent / "shared" / "data"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="data folder like ../shared/data")
    ap.add_argument("--tasks", default=",".join(suite.TASKS))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks")
    ap.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="also pickle each BenchResult (with every prediction) into this folder",
    )
    args = ap.parse_args()
    extra = {} if args.seeds is None else {"seeds": args.seeds}
    data = args.data or shared_data_root()
    for task in args.tasks.split(","):
        inputs = suite.shared_inputs(data, task, args.quick)
        more = {"reference": {"EDA paper (Wei & Zou 2019)": EDA_PAPER}} if task == "text" else {}
        result, paths, elapsed = suite.run_task(task, inputs, args.out, args.quick, **extra, **more)
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            with open(args.keep / f"downstream_{task}.pkl", "wb") as fh:
                pickle.dump(result, fh)
        print(result.to_markdown(task))
        print(f"{task}: {elapsed:.0f} s -> {', '.join(map(str, paths.values()))}", flush=True)


if __name__ == "__main__":
    main()
