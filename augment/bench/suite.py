"""The benchmarks behind ``augment bench``: which data each task reads, quick and full modes,
and where the results are written."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from augment.bench.results import BenchResult

#: The shared text sets the full text benchmark runs on, and the one ``--quick`` runs on.
TEXT_SETS = ("sst2", "cr", "trec")
QUICK_TEXT_SET = "trec"
#: The sets of the second round (``--strategies``): 77 confusable intents, 6 question types, and
#: binary sentiment.
ROUND_TWO_SETS = ("banking77", "trec", "sst2")
TASKS = ("text", "image", "persona")


def text(
    sets: Sequence[tuple[str, str | Path, str | Path]],
    quick: bool = False,
    show_progress: bool | None = None,
    reference: dict[str, Any] | None = None,
    **overrides: Any,
) -> BenchResult:
    """The text benchmark on ``(name, train file, test file)`` triples, in one result;
    ``reference`` (published figures to print beside ours) goes into its meta."""
    from augment.bench.text import QUICK, TextBenchmark, new_result

    settings = {**(QUICK if quick else {}), **overrides}
    result = new_result()
    if reference:
        result.meta["reference"] = reference
    for name, train, test in sets:
        TextBenchmark(train, test, name=name, show_progress=show_progress, **settings).run(result)
    return result


def text_strategies(path: str | Path) -> list[Any]:
    """The strategies of a ``--strategies`` file, validated and checked to run here (a
    :class:`~augment.bench.strategies.StrategyError` naming the strategy otherwise)."""
    from augment.bench.strategies import check_available, load_strategies

    strategies = load_strategies(path)
    check_available(strategies)
    return strategies


def image(
    data: str | Path, quick: bool = False, show_progress: bool | None = None, **overrides: Any
) -> BenchResult:
    """The PneumoniaMNIST few-shot benchmark."""
    import torch

    from augment.bench.image import QUICK, ImageBenchmark

    settings = {**(QUICK if quick else {}), **overrides}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the CNNs are tiny; one thread is also what makes runs bit-equal
    try:
        result = ImageBenchmark(data, show_progress=show_progress, **settings).run()
    finally:
        torch.set_num_threads(threads)
    result.meta["torch_threads"] = 1
    return result


def persona(
    data: str | Path, quick: bool = False, show_progress: bool | None = None, **overrides: Any
) -> BenchResult:
    """The telco senior-segment churn benchmark."""
    from augment.bench.persona import QUICK, PersonaBenchmark

    settings = {**(QUICK if quick else {}), **overrides}
    return PersonaBenchmark(data, show_progress=show_progress, **settings).run()


#: The files each task reads from a data folder laid out like ../shared/data (the folder itself
#: is always passed in, e.g. ``augment bench image --data DIR``).
LAYOUT: dict[str, Any] = {
    "text": lambda root, quick, sets=None: [
        (n, root / "text" / n / "train.txt", root / "text" / n / "test.txt")
        for n in (sets or ((QUICK_TEXT_SET,) if quick else TEXT_SETS))
    ],
    "image": lambda root, quick: root / "image" / "pneumoniamnist.npz",
    "persona": lambda root, quick: root / "tabular" / "telco_churn.csv",
}


def shared_inputs(
    data_dir: str | Path, task: str, quick: bool = False, sets: Sequence[str] | None = None
) -> Any:
    """What ``task`` reads from the data folder ``data_dir``, checked to exist; ``sets`` names
    the text sets (folders under ``text/``) instead of the default ones."""
    if task not in LAYOUT:
        raise ValueError(f"unknown task {task!r}; choose from {TASKS}")
    inputs = LAYOUT[task](Path(data_dir), quick, *([tuple(sets)] if sets else []))
    paths = [p for _, a, b in inputs for p in (a, b)] if isinstance(inputs, list) else [inputs]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{task} benchmark needs {', '.join(missing)}")
    return inputs


#: Headings of each task's results page.
TITLES = {
    "text": "Text: EDA augmentation, small training samples, two CPU classifiers",
    "image": "Image: PneumoniaMNIST few-shot, small CNN",
    "persona": "Personas: churn within the senior-citizen segment (50 seniors in training)",
}


def run_task(
    task: str,
    inputs: Any,
    out: str | Path,
    quick: bool = False,
    show_progress: bool | None = None,
    stem: str | None = None,
    **overrides: Any,
) -> tuple[BenchResult, dict[str, Path], float]:
    """Run one task and write ``downstream_{task}.{json,md,png}`` to ``out`` (with the task's
    notes on how it was measured, where it has them); returns the result, the paths and the
    seconds it took."""
    import importlib

    start = time.perf_counter()
    runner = {"text": text, "image": image, "persona": persona}[task]
    if task == "text":  # the plan, then the trials as they come, on disk before the end
        partial = Path(out) / f"{stem or f'downstream_{task}'}.json"
        overrides.setdefault("on_update", lambda r: r.write_json(partial))
    result = runner(inputs, quick=quick, show_progress=show_progress, **overrides)
    elapsed = time.perf_counter() - start
    result.meta["elapsed_s"] = round(elapsed, 1)
    result.meta["mode"] = "quick" if quick else "full"
    result.meta["machine"] = f"{platform.machine()}, {os.cpu_count()} CPU cores"
    title = TITLES[task] + (" (quick mode: a smoke run, not a result)" if quick else "")
    with threadpool_limits(1, user_api="blas"):  # small matrix products: threads only contend
        paths = result.write(out, stem or f"downstream_{task}", title=title)
    notes = getattr(importlib.import_module(f"augment.bench.{task}"), "notes", None)
    if notes is not None:
        md = paths["markdown"]
        md.write_text(md.read_text() + "\n" + notes(result))
    return result, paths, elapsed
