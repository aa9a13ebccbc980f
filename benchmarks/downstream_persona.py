"""Downstream persona benchmark: churn recall and F1 within the senior-citizen segment of
telco_churn, trained with that segment thinned to 50 rows, for every way of adding senior rows
(see augment/bench/persona.py), with paired bootstrap intervals.

Writes {out}/downstream_persona.{json,md,png} and prints the Markdown table.

    python benchmarks/downstream_persona.py                # full mode (10 seeds)
    python benchmarks/downstream_persona.py --quick        # 3 seeds, a smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

from augment.bench.persona import QUICK, PersonaBenchmark, default_data, notes


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help=f"quick mode: {QUICK}")
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    ap.add_argument("--data", type=Path, default=None, help=f"default: {default_data()}")
    ap.add_argument("--seeds", type=int, default=None, help="override the mode's seed count")
    args = ap.parse_args()
    kw = dict(QUICK) if args.quick else {}
    if args.data is not None:
        kw["data"] = args.data
    if args.seeds is not None:
        kw["seeds"] = args.seeds
    bench = PersonaBenchmark(**kw)
    t = time.perf_counter()
    result = bench.run()
    elapsed = time.perf_counter() - t
    result.meta["mode"] = "quick" if args.quick else "full"
    result.meta["elapsed_s"] = round(elapsed, 1)
    result.meta["machine"] = f"{platform.machine()}, {os.cpu_count()} CPU cores"
    title = "Personas: churn within the senior-citizen segment (50 seniors in training)"
    with threadpool_limits(limits=1):  # small matrices: BLAS threads only slow the bootstrap
        paths = result.write(args.out, "downstream_persona", title=title)
    md = paths["markdown"]
    md.write_text(md.read_text() + "\n" + notes(result))
    print(result.to_markdown(title))
    print(notes(result))
    print(
        f"elapsed: {elapsed:.1f} s to train and score; wrote {', '.join(map(str, paths.values()))}"
    )


if __name__ == "__main__":
    main()
