"""Variants per second of span-annotated texts and chat records against the plain text pipeline
on the same texts: what keeping labelled spans and applying a field policy cost.

    python benchmarks/records_throughput.py [--repeats 3]

Runs on the shipped examples (22 contract sentences with spans, 6 chats), cycled to ~1,000
variants. Each figure is the best of ``--repeats`` passes, contenders interleaved, after a
warm-up pass (nlpaug loaded), so a busy machine hurts both alike. Pipeline time only: the
filter's cost is the text filter's (docs/benchmarks/filter_throughput.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from augment.candidate import sample_seed
    from augment.io.text_files import example_path
    from augment.records import RecordPipeline, read_records
    from augment.spans import SpanPipeline, read_span_jsonl
    from augment.text import (
        KeyboardNoise,
        OneOf,
        RandomDeletion,
        RandomSwap,
        Sometimes,
        TextPipeline,
    )

    text = TextPipeline(
        [
            OneOf([RandomSwap(aug_p=0.2), RandomDeletion(aug_p=0.2)]),
            Sometimes(KeyboardNoise(aug_word_p=0.2), p=0.5),
        ]
    )
    spans, _ = read_span_jsonl(example_path("text", "contracts_spans.jsonl"))
    chats, _ = read_records(example_path("records", "chat.jsonl"))
    user_turns = [t["content"] for c in chats for t in c.payload["messages"] if t["role"] == "user"]
    cases = {
        "contract text, TextPipeline": (text, [s.payload["text"] for s in spans], 46),
        "contract text + spans, SpanPipeline": (SpanPipeline(text), [s.payload for s in spans], 46),
        "user turns, TextPipeline": (text, user_turns, 100),
        "chat records, RecordPipeline": (
            RecordPipeline({"messages": text}),
            [c.payload for c in chats],
            100 * len(user_turns) // len(chats),
        ),
    }

    def one_pass(pipe, payloads, n) -> tuple[int, float]:
        t = time.perf_counter()
        k = 0
        for i, p in enumerate(payloads):
            for v in range(n):
                pipe.apply(p, sample_seed(0, i, v))
                k += 1
        return k, time.perf_counter() - t

    for pipe, payloads, _n in cases.values():
        one_pass(pipe, payloads, 2)  # warm-up: nlpaug, caches
    best: dict[str, tuple[int, float]] = {}
    for _ in range(args.repeats):
        for name, (pipe, payloads, n) in cases.items():
            k, s = one_pass(pipe, payloads, n)
            if name not in best or s < best[name][1]:
                best[name] = (k, s)
    print("| payload | variants | ms per variant | variants/s |\n|---|---|---|---|")
    for name, (k, s) in best.items():
        print(f"| {name} | {k} | {1000 * s / k:.3f} | {k / s:,.0f} |")


if __name__ == "__main__":
    main()
