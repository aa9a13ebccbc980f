"""Downstream image benchmark: PneumoniaMNIST few-shot (10, 50, 100 X-rays per class), a small
CNN on the CPU, arms none / duplicated / contrast / contrast+rotation, each filtered and
size-matched; accuracy and AUC with paired bootstrap intervals (augment/bench/image.py).

    python benchmarks/downstream_image.py [--quick] [--out docs/benchmarks] [--data PATH]

Writes ``downstream_image.{json,md,png}`` to ``--out``. Runs torch on one thread.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from augment.bench.image import QUICK, ImageBenchmark, data_file  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help=f"smoke settings: {QUICK}")
    ap.add_argument("--out", default=str(REPO / "docs" / "benchmarks"))
    ap.add_argument(
        "--data",
        default=None,
        help="the PneumoniaMNIST .npz or the shared data folder (default: $AUGMENT_SHARED_DATA "
        "or ../shared/data)",
    )
    ap.add_argument("--stem", default="downstream_image")
    args = ap.parse_args()
    try:
        data = data_file(args.data)
    except FileNotFoundError as exc:
        sys.exit(str(exc))
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    bench = ImageBenchmark(data, show_progress=True, **(QUICK if args.quick else {}))
    start = time.perf_counter()
    result = bench.run()
    elapsed = time.perf_counter() - start
    result.meta["elapsed_s"] = round(elapsed, 1)
    result.meta["mode"] = "quick" if args.quick else "full"
    result.meta["torch_threads"] = torch.get_num_threads()
    title = "Image: PneumoniaMNIST few-shot, small CNN" + (" (quick mode)" if args.quick else "")
    paths = result.write(args.out, args.stem, title=title)
    print(result.to_markdown(title))
    print(
        f"elapsed {elapsed:.0f} s ({result.meta['timing']}); wrote "
        + ", ".join(str(p) for p in paths.values())
    )


if __name__ == "__main__":
    main()
