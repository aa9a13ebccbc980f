"""Image robustness benchmark, written to docs/benchmarks/image_robustness.{json,md,png}: what
contrast and contrast+rotation augmentation, with and without the fidelity filter, do to the
clean and the MedMNIST-C-corrupted test AUC of a small CNN and a fine-tuned EfficientNet-Lite0
trained on 10 and 50 PneumoniaMNIST X-rays per class.

    python benchmarks/image_robustness.py [--data ../shared/data] [--quick] [--seeds N]
        [--shots 10,50] [--models cnn,lite0] [--per-class N] [--severities 1,2,3,4,5]
        [--out docs/benchmarks]

Settings: augment.bench.image_robustness.FULL (and QUICK for ``--quick``, under ~3 minutes on
2 busy cores); the options override them (a reduced run says what it cut in the JSON's meta).
Torch runs on one thread, as ``augment bench image`` does. The data folder defaults to
``$AUGMENT_SHARED_DATA``, else ``../shared/data`` beside this checkout.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from augment.bench import image_robustness  # noqa: E402
from augment.bench.image import ImageBenchmark, data_file  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = os.environ.get("AUGMENT_SHARED_DATA", REPO.parent / "shared" / "data")
    ap.add_argument("--data", type=Path, default=Path(default_data))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--shots", default=None, help="X-rays per class, e.g. 10,50")
    ap.add_argument("--models", default=None, help="cnn,lite0")
    ap.add_argument("--per-class", type=int, default=None, help="test images corrupted per class")
    ap.add_argument("--severities", default=None, help="e.g. 1,3,5")
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks")
    ap.add_argument("--stem", default="image_robustness")
    ap.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="also pickle the BenchResult (every prediction) here",
    )
    args = ap.parse_args(argv)
    settings = dict(image_robustness.QUICK if args.quick else image_robustness.FULL)
    cut = {}
    if args.seeds is not None:
        settings["seeds"] = cut["seeds"] = args.seeds
    if args.shots:
        settings["shots"] = cut["shots"] = tuple(int(k) for k in args.shots.split(","))
    if args.models:
        settings["models"] = cut["models"] = tuple(m.strip() for m in args.models.split(","))
    if args.per_class is not None:
        settings["corrupted_per_class"] = cut["corrupted_per_class"] = args.per_class
    if args.severities:
        sev = tuple(int(s) for s in args.severities.split(","))
        settings["severities"] = cut["severities"] = sev

    import torch

    torch.set_num_threads(1)
    start = time.perf_counter()
    bench = ImageBenchmark(data_file(args.data), **settings)
    result = bench.run()
    result.meta["torch_threads"] = 1
    result.meta["mode"] = "quick" if args.quick else "full"
    if cut:
        result.meta["changed_from_mode"] = cut
    result.meta["primary_metric"] = "auc"
    result.meta["elapsed_s"] = round(time.perf_counter() - start, 1)
    if args.keep is not None:
        args.keep.parent.mkdir(parents=True, exist_ok=True)
        with open(args.keep, "wb") as fh:
            pickle.dump(result, fh)
    paths = image_robustness.write(result, args.out, args.stem)
    print(image_robustness.summary_markdown(result))
    print(f"{result.meta['elapsed_s']:.0f} s -> {', '.join(map(str, paths.values()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
