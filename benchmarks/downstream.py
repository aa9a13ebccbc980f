"""Downstream benchmarks, full mode, written to docs/benchmarks/: what augmentation and the
fidelity filter do to a model trained on a small training set, against honest controls.

    python benchmarks/downstream.py [--tasks text,image,persona] [--quick] [--out docs/benchmarks]

The same as ``augment bench all --data ../shared/data --out docs/benchmarks``; see
docs/benchmarks/downstream.md for the method and the results.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from augment.bench import suite  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    for task in args.tasks.split(","):
        inputs = suite.shared_inputs(suite.shared_data_root(), task, args.quick)
        result, paths, elapsed = suite.run_task(task, inputs, args.out, args.quick, **extra)
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            with open(args.keep / f"downstream_{task}.pkl", "wb") as fh:
                pickle.dump(result, fh)
        print(result.to_markdown(task))
        print(f"{task}: {elapsed:.0f} s -> {', '.join(map(str, paths.values()))}", flush=True)


if __name__ == "__main__":
    main()
