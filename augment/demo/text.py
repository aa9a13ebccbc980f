"""Text section of `augment demo`: calibrate a band, then augment and filter real sentences."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from augment.augmenter import Augmenter, Source
from augment.io import example_path, read_labelled_text, read_pairs
from augment.text import TextPipeline
from fidelity import FidelityFilter, TextEncoder, Verdict, calibrate
from fidelity.report import similarity_histogram, verdict_table

#: Hand-made candidates that show each verdict.
SHOWCASE = [
    (
        "The loan was approved after the second review.",
        "After the second review the loan got approved.",
        "a paraphrase",
    ),
    (
        "The loan was approved after the second review.",
        "The loan was not approved after the second review.",
        "a negation (the embedding barely sees it; the protected span does)",
    ),
    (
        "The package was delivered to the wrong address.",
        "Please close my account and delete my personal data.",
        "an unrelated sentence",
    ),
    (
        "The package was delivered to the wrong address.",
        "The package was delivered to the wrong address!",
        "punctuation only",
    ),
    (
        "The package was delivered to the wrong address.",
        "The package was delivered to the wrong address.",
        "an exact copy",
    ),
    ("Please refund the late fee on my last invoice.", "   ", "whitespace"),
]


def _sources(data: Path | None) -> tuple[list[Source], str]:
    """Sources and the preset that suits them."""
    if data is not None and (data / "text" / "sst2" / "train.txt").is_file():
        frame = read_labelled_text(data / "text" / "sst2" / "train.txt", limit=40)
        print(f"sources: first {len(frame)} sentences of {data / 'text/sst2/train.txt'}")
        preset = "eda"
    else:
        frame = read_labelled_text(example_path("text", "tickets.tsv"))
        print(f"sources: {len(frame)} support tickets shipped in augment/examples/text")
        preset = "support"
    sources = [Source(i, t, lab) for i, (lab, t) in enumerate(zip(frame.label, frame.text))]
    return sources, preset


def run(data: Path | None, out: Path) -> None:
    pd.set_option("display.width", 160)
    pd.set_option("display.max_colwidth", 70)
    encoder = TextEncoder()
    print(f"encoder: {encoder.name} on {encoder.sentence_transformer.device}")

    # 1. The band, from known-safe paraphrases and pairs of different tickets.
    tickets = read_labelled_text(example_path("text", "tickets.tsv"))
    srcs, paras = read_pairs(example_path("text", "paraphrases.tsv"))
    label_of = dict(zip(tickets.text, tickets.label))
    cal = calibrate(srcs, paras, labels=[label_of.get(s) for s in srcs], encoder=encoder)
    band = cal.band
    print(f"\ncalibrated band: [{band.min_similarity:.3f}, {band.max_similarity:.3f}]")
    for k, v in cal.rates().items():
        print(f"  {k:<22} {v:6.1%}")
    for note in cal.notes:
        print(f"  note: {note}")
    cal.plot(out / "text_calibration.png")

    flt = FidelityFilter.from_band(band, encoder)

    # 2. What each verdict looks like: protected spans first (as the Augmenter does), then the band.
    spans = TextPipeline.from_preset("support")
    verdicts = [
        Verdict.constraint(broken) if (broken := spans.check(s, c)) else v
        for (s, c, _), v in zip(
            SHOWCASE, flt.judge([s for s, _, _ in SHOWCASE], [c for _, c, _ in SHOWCASE])
        )
    ]
    show = pd.DataFrame(
        {
            "candidate is": [what for _, _, what in SHOWCASE],
            "similarity": [round(v.similarity, 3) for v in verdicts],
            "reason": [v.reason.value for v in verdicts],
            "detail": [v.detail for v in verdicts],
        }
    )
    print("\nhand-made candidates:\n" + show.to_string(index=False))

    # 3. Augment real sentences and filter them.
    sources, preset = _sources(data)
    pipeline = TextPipeline.from_preset(preset)
    print(f"pipeline: the {preset!r} preset (see docs/text.md)")
    result = Augmenter(pipeline, flt, n_variants=4, random_state=0).run(sources)
    frame = result.to_frame()
    src_text = {s.id: s.payload for s in sources}
    frame["source"] = frame.source_id.map(src_text)
    print("\nsome candidates (source -> candidate, similarity, reason):")
    sample = frame.groupby("reason", group_keys=False).head(3)
    for row in sample.itertuples():
        print(
            f"  [{row.reason:<14} {row.similarity:5.3f}] {row.source}\n  {'':>22} -> {row.payload}"
        )
    print(
        "\nsummary:\n"
        + verdict_table([c.verdict for c in result.candidates]).to_string(index=False)
    )
    print(
        "\naccept rate per operation chain:\n"
        + result.accept_rate_by_operation().to_string(index=False)
    )
    print(
        f"\n{result.n_sources} sources -> {len(result.candidates)} candidates, "
        f"{len(result.accepted)} accepted, {len(result.rejected)} rejected, "
        f"{len(result.errors)} errors"
    )
    hist = similarity_histogram(
        [c.verdict for c in result.candidates], out / "text_similarity.png", band
    )
    frame.drop(columns=["operations"]).to_csv(out / "text_candidates.csv", index=False)
    print(f"wrote {hist}, {out / 'text_calibration.png'}, {out / 'text_candidates.csv'}")
    stats = encoder.stats
    print(
        f"encoder: {stats.requested} texts asked for, {stats.encoded} sent to the model, "
        f"{stats.cache_hits} served from the cache"
    )
