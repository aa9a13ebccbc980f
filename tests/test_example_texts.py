"""The 200-sentence benchmark sets (augment/examples/text/bench_*.tsv, issue 15): their size,
labels and format, that they start with the small example sets unchanged, and that the contract
clauses carry spans the `legal` preset protects."""

from __future__ import annotations

from collections import Counter

import pytest

from augment.io.text_files import example_path, read_labelled_text
from augment.text import ProtectedSpans

# name of the benchmark set -> (the small set it starts with, the least rows each label has)
SETS = {
    "bench_contracts.tsv": (
        "contracts.tsv",
        {
            "assignment": 20,
            "confidentiality": 20,
            "definition": 20,
            "delivery": 20,
            "liability": 20,
            "payment": 20,
            "termination": 20,
        },
    ),
    "bench_tickets.tsv": (
        "tickets.tsv",
        {"billing": 44, "account": 44, "delivery": 44, "loan": 44},
    ),
}


def raw_rows(name: str) -> list[tuple[str, str]]:
    """Every line of a shipped set split at its first tab, blank lines included."""
    lines = example_path("text", name).read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "", f"{name} does not end with a newline"
    rows = []
    for lineno, line in enumerate(lines[:-1], start=1):
        assert "\t" in line, f"{name}:{lineno} has no tab: {line!r}"
        label, text = line.split("\t", 1)
        rows.append((label, text))
    return rows


@pytest.mark.parametrize("name", sorted(SETS))
def test_set_has_200_labelled_rows_without_duplicates(name: str):
    minimums = SETS[name][1]
    rows = raw_rows(name)
    assert len(rows) == 200
    for label, text in rows:
        assert label in minimums, f"unknown label {label!r}"
        assert text.strip() == text and text, f"empty or padded text: {text!r}"
    texts = [text.lower() for _, text in rows]
    repeated = [t for t, n in Counter(texts).items() if n > 1]
    assert not repeated
    counts = Counter(label for label, _ in rows)
    short = {label: counts[label] for label, least in minimums.items() if counts[label] < least}
    assert not short, f"labels under their minimum: {short}"


@pytest.mark.parametrize("name", sorted(SETS))
def test_set_starts_with_the_small_example_set(name: str):
    small = read_labelled_text(example_path("text", SETS[name][0]))
    bench = read_labelled_text(example_path("text", name))
    assert len(bench) == 200
    head = bench.iloc[: len(small)].reset_index(drop=True)
    assert head.equals(small)


def test_contract_clauses_carry_legal_spans():
    texts = read_labelled_text(example_path("text", "bench_contracts.tsv"))["text"]
    legal = ProtectedSpans(legal=True)
    with_spans = sum(bool(legal.find(text)) for text in texts)
    assert with_spans >= 0.9 * len(texts), f"only {with_spans} of {len(texts)} have spans"
