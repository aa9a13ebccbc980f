"""Text generators side by side: which variants would a person accept?

    python benchmarks/text_generators.py [--quick] [--n 20] [--n-lm 6] [--data ../shared/data]
                                         [--out results.json]

For each set (banking77 test sentences, the shipped support tickets, the shipped contract
clauses) and each generator (WordNet synonyms without and with the part-of-speech tagger, EDA,
Apertium back-translation when installed, the local LM in paraphrase and label_conditioned
modes) it makes one variant per sentence and reports:

* ``spans_kept``: share of candidates keeping every protected span of their source (the legal
  spans for contracts; numbers, amounts, dates, negations for the others; order not required);
  n/a for label_conditioned, whose output is a new text;
* ``fluency``: mean per-token log-likelihood of the candidate minus that of its source under
  SmolLM2-135M (0 = as fluent as the source; lower is worse);
* ``distinct2``: distinct bigrams / all bigrams over the candidates;
* ``accepted``: share accepted by the default filter (span check, then the MiniLM band); for
  label_conditioned, whose output is a new example rather than a paraphrase, share accepted by
  the label check alone (cross-fitted on the set's labelled pool);
* ``label_agree`` (banking77): share of candidates a classifier (MiniLM embeddings + logistic
  regression trained on the banking77 training set; ``--quick``: 15 rows per intent) gives the
  source's label;
* ``sent_s``: candidates per second of the generator alone.

The LM generators are slow on a shared 2-core CPU (0.4-6 tokens/s), so they see only ``--n-lm``
sentences per set; the others ``--n``. LM candidates are generated in batches
(the Augmenter hands an LM pipeline its rows together) and judged with the same
``Augmenter.judge`` as the others.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from augment import Augmenter, Candidate, Source  # noqa: E402
from augment.io.text_files import example_path, read_labelled_text  # noqa: E402
from augment.text import ProtectedSpans, SynonymReplacement, TextPipeline  # noqa: E402
from augment.text.eda import RandomDeletion, RandomInsertion, RandomSwap  # noqa: E402
from augment.text.pipeline import OneOf  # noqa: E402


def read_tsv(path: Path) -> list[tuple[str, str]]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if "\t" in line:
                lab, text = line.rstrip("\n").split("\t", 1)
                out.append((lab.strip(), text.strip()))
    return out


#: The shipped benchmark texts: 200 support messages and 200 contract clauses written for this
#: project (the demo's tickets.tsv and contracts.tsv are their first rows).
TICKETS, CONTRACTS = "bench_tickets.tsv", "bench_contracts.tsv"


def sets(data: Path, n: int, seed: int = 0) -> dict[str, dict[str, Any]]:
    rng = random.Random(seed)
    bank_train = read_tsv(data / "text" / "banking77" / "train.txt")
    bank_test = read_tsv(data / "text" / "banking77" / "test.txt")
    out: dict[str, dict[str, Any]] = {
        "banking77": {"rows": rng.sample(bank_test, n), "pool": bank_train, "legal": False}
    }
    for name, file, legal in (("support", TICKETS, False), ("legal", CONTRACTS, True)):
        frame = read_labelled_text(example_path("text", file))
        rows = list(zip(frame["label"], frame["text"]))
        out[name] = {"rows": rng.sample(rows, min(n, len(rows))), "pool": rows, "legal": legal}
    return out


def generators(args: argparse.Namespace) -> dict[str, Any]:
    """name -> factory(set info) -> operation or pipeline steps."""
    gens: dict[str, Any] = {
        "synonyms (WordNet)": lambda s: [SynonymReplacement(aug_p=0.1, aug_max=3)],
        "synonyms + POS (spaCy)": lambda s: [
            SynonymReplacement(aug_p=0.1, aug_max=3, max_senses=1, pos_tagger="spacy")
        ],
        "EDA": lambda s: [
            OneOf(
                [
                    SynonymReplacement(aug_p=0.1),
                    RandomInsertion(aug_p=0.1),
                    RandomSwap(aug_p=0.1),
                    RandomDeletion(aug_p=0.1),
                ]
            )
        ],
    }
    if shutil.which("apertium"):
        from augment.text.backtranslation import ApertiumBackTranslation

        gens["Apertium en-es-en"] = lambda s: [ApertiumBackTranslation()]
    if not args.no_lm:
        from augment.text.backends.causal_lm import CausalLMGeneration

        gens["LM paraphrase (SmolLM2)"] = lambda s: [
            CausalLMGeneration(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
        ]

        def label_conditioned(s: dict[str, Any]) -> Any:
            pool: dict[str, list[str]] = {}
            for lab, text in s["pool"]:
                pool.setdefault(lab, []).append(text)
            for lab, text in s["rows"]:  # the sources must be among the examples
                if text not in pool.setdefault(lab, []):
                    pool[lab].append(text)
            return [
                CausalLMGeneration(
                    mode="label_conditioned",
                    examples=pool,
                    n_shots=4,
                    max_new_tokens=args.max_new_tokens,
                    batch_size=args.batch_size,
                )
            ]

        gens["LM label_conditioned (SmolLM2)"] = label_conditioned
    return gens


def distinct2(texts: list[str]) -> float:
    grams = [tuple(t.lower().split()[i : i + 2]) for t in texts for i in range(len(t.split()) - 1)]
    return len(set(grams)) / len(grams) if grams else float("nan")


def run_generator(
    made: Any, rows: list[tuple[str, str]], prot: ProtectedSpans, seed: int
) -> tuple[list[Candidate], list[dict[str, Any]], float, TextPipeline]:
    """Candidates (one per row), error records, seconds spent generating, the pipeline. Every
    generator runs through the Augmenter; an LM pipeline gets its rows in batches
    (``make_candidates`` -> ``TextPipeline.apply_batch`` -> one ``generate`` per batch)."""
    sources = [Source(i, text, lab) for i, (lab, text) in enumerate(rows)]
    pipe = TextPipeline(made, prot, on_broken="keep")
    aug = Augmenter(pipe, n_variants=1, random_state=seed, show_progress=False)
    pipe.apply(rows[0][1], 0)  # load the model, warm caches (WordNet, tagger) outside the timing
    t = time.perf_counter()
    cands, errors = aug.generate(sources)
    return cands, errors, time.perf_counter() - t, pipe


_LABEL_FILTERS: dict[str, Any] = {}


def label_filter(name: str, s: dict[str, Any], encoder: Any) -> Any:
    """The label check alone, fitted (cross-fitted) on the set's labelled pool: banking77's
    training set, or the 200 shipped rows of the support and legal sets."""
    if name not in _LABEL_FILTERS:
        from fidelity import FidelityFilter

        flt = FidelityFilter(encoder=encoder, checks=["label"])
        flt.fit([t for _, t in s["pool"]], [lab for lab, _ in s["pool"]])
        _LABEL_FILTERS[name] = flt
    return _LABEL_FILTERS[name]


def label_classifier(pool: list[tuple[str, str]], encoder: Any, per_class: int | None) -> Any:
    from sklearn.linear_model import LogisticRegression

    rows = pool
    if per_class is not None:
        by: dict[str, list[tuple[str, str]]] = {}
        for lab, text in pool:
            by.setdefault(lab, []).append((lab, text))
        rows = [r for v in by.values() for r in v[:per_class]]
    x = encoder.encode([t for _, t in rows])
    clf = LogisticRegression(max_iter=2000, C=10.0)
    clf.fit(x, [lab for lab, _ in rows])
    return clf


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--n", type=int, default=20, help="sentences per set (word operations)")
    ap.add_argument("--n-lm", type=int, default=6, help="sentences per set (LM generators)")
    ap.add_argument("--max-new-tokens", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=6)
    ap.add_argument("--quick", action="store_true", help="8 / 2 sentences, small classifier")
    ap.add_argument("--no-lm", action="store_true", help="skip the language-model generators")
    ap.add_argument("--examples", type=int, default=3, help="accepted/rejected shown per cell")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default="", help="run only generators whose name contains this")
    ap.add_argument("--no-classifier", action="store_true", help="skip banking77 label agreement")
    ap.add_argument("--no-fluency", action="store_true", help="skip the LM fluency figure")
    ap.add_argument("--sets", default="", help="only these sets (banking77,support,legal)")
    ap.add_argument(
        "--docs", type=Path, default=None, help="rewrite the results section of this page"
    )
    ap.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        default=None,
        help="render --docs from these result files (later ones win per generator and set)",
    )
    args = ap.parse_args()
    if args.from_json:
        results, examples = merge_results(args.from_json)
        print("\n" + markdown_table(results))
        if args.docs:
            write_docs(args.docs, results, examples)
        return
    if args.quick:
        args.n, args.n_lm = 8, 2
    if not (args.data / "text" / "banking77").is_dir():
        sys.exit(f"banking77 not found under {args.data}: pass --data ../shared/data")

    from fidelity import FidelityFilter, TextEncoder
    from fidelity.checks.fluency import mean_token_logprob

    encoder = TextEncoder()
    flt = FidelityFilter(encoder=encoder)
    data = sets(args.data, max(args.n, args.n_lm), args.seed)
    t = time.perf_counter()
    clf = None
    if not args.no_classifier:
        clf = label_classifier(data["banking77"]["pool"], encoder, 15 if args.quick else None)
        bank = data["banking77"]["rows"][: args.n]
        pred = clf.predict(encoder.encode([t for _, t in bank]))
        src_agree = sum(p == lab for p, (lab, _) in zip(pred, bank)) / len(bank)
        print(
            f"banking77 classifier trained in {time.perf_counter() - t:.0f} s; it gives "
            f"{src_agree:.3f} of the {len(bank)} source sentences their own label",
            flush=True,
        )

    results, examples = [], {}
    for gname, factory in generators(args).items():
        if args.only not in gname:
            continue
        is_lm = gname.startswith("LM")
        for sname, s in data.items():
            if args.sets and sname not in args.sets.split(","):
                continue
            rows = s["rows"][: args.n_lm if is_lm else args.n]
            label_mode = "label_conditioned" in gname
            # a label-conditioned text is a new example, not a paraphrase: no span of its source
            # binds it, and it is judged by the label check alone (docs/text_generators.md)
            prot = (
                ProtectedSpans.disabled()
                if label_mode
                else ProtectedSpans(legal=s["legal"], ordered=False)
            )
            cands, errors, dt, pipe = run_generator(factory(s), rows, prot, args.seed)
            judge_with = label_filter(sname, s, encoder) if label_mode else flt
            Augmenter(pipe, judge_with).judge(
                [Source(i, t, lab) for i, (lab, t) in enumerate(rows)], cands
            )
            src = {i: t for i, (_, t) in enumerate(rows)}
            kept = [prot.check(src[c.source_id], c.payload) is None for c in cands]
            score = cands and not args.no_fluency
            lp_c = mean_token_logprob([c.payload for c in cands]) if score else []
            lp_s = mean_token_logprob([src[c.source_id] for c in cands]) if score else []
            flu = [a - b for a, b in zip(lp_c, lp_s) if not (math.isnan(a) or math.isnan(b))]
            row = {
                "generator": gname,
                "set": sname,
                "n": len(rows),
                "errors": len(errors),
                "spans_kept": None if label_mode else round(sum(kept) / max(len(cands), 1), 3),
                "fluency": round(sum(flu) / len(flu), 3) if flu else None,
                "distinct2": round(distinct2([c.payload for c in cands]), 3),
                "accepted": round(sum(c.accepted for c in cands) / max(len(rows), 1), 3),
                "sent_s": round(len(rows) / dt, 2) if dt > 0 else None,
                "reasons": _reasons(cands, errors),
            }
            if sname == "banking77" and cands and clf is not None:
                pred = clf.predict(encoder.encode([c.payload for c in cands]))
                row["label_agree"] = round(
                    sum(p == c.label for p, c in zip(pred, cands)) / len(cands), 3
                )
            results.append(row)
            examples[f"{gname} | {sname}"] = {
                "accepted": [[src[c.source_id], c.payload] for c in cands if c.accepted][
                    : args.examples
                ],
                "rejected": [
                    [src[c.source_id], c.payload, c.verdict.reason.value]
                    for c in cands
                    if not c.accepted
                ][: args.examples],
                "errors": [e["error"] for e in errors][: args.examples],
            }
            print(json.dumps({**row, "examples": examples[f"{gname} | {sname}"]}), flush=True)
    print("\n" + markdown_table(results))
    if args.out:
        args.out.write_text(json.dumps({"results": results, "examples": examples}, indent=1))
    if args.docs:
        write_docs(args.docs, results, examples)


def merge_results(paths: list[Path]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows and examples of several runs' JSON files; a later file's (generator, set) cell
    replaces an earlier one's, in the earlier one's place."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    examples: dict[str, Any] = {}
    for path in paths:
        got = json.loads(Path(path).read_text())
        for r in got["results"]:
            rows[(r["generator"], r["set"])] = r
        examples.update(got["examples"])
    return list(rows.values()), examples


COLUMNS = [
    ("generator", "generator"),
    ("set", "set"),
    ("n", "n"),
    ("spans_kept", "spans kept"),
    ("fluency", "fluency Δ"),
    ("distinct2", "distinct-2"),
    ("accepted", "accepted"),
    ("label_agree", "label agree"),
    ("sent_s", "sent/s"),
    ("reasons", "verdicts"),
]


def markdown_table(results: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(h for _, h in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in results:
        cells = []
        for key, _ in COLUMNS:
            v = r.get(key)
            if key == "reasons":
                v = ", ".join(f"{k} {n}" for k, n in sorted(v.items(), key=lambda kv: -kv[1]))
            elif key == "label_agree" and key not in r:
                v = ""
            elif v is None:
                v = "n/a"
            cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_examples(examples: dict[str, Any], per_generator: int = 10) -> str:
    """Per generator, ``per_generator`` accepted and as many rejected examples, taken in turn
    from each set so that every set shows."""
    by_gen: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for key, ex in examples.items():
        gen, sname = key.split(" | ")
        by_gen.setdefault(gen, []).append((sname, ex))
    out = []
    for gen, cells in by_gen.items():
        out.append(f"<details><summary><b>{gen}</b></summary>\n")
        for kind in ("accepted", "rejected"):
            picked: list[str] = []
            depth = 0
            while len(picked) < per_generator and any(len(ex[kind]) > depth for _, ex in cells):
                for sname, ex in cells:
                    if depth < len(ex[kind]) and len(picked) < per_generator:
                        item = ex[kind][depth]
                        why = f" ({item[2]})" if kind == "rejected" else ""
                        picked.append(f"- {sname}, {kind}{why}: “{item[0]}” → “{item[1]}”")
                depth += 1
            out.append(f"{kind.capitalize()} ({len(picked)}):\n")
            out.extend(picked or ["- none"])
            out.append("")
        errs = [e for _, ex in cells for e in ex.get("errors", [])][:3]
        if errs:
            out.append("Errors (first 3): " + "; ".join(f"`{e[:90]}`" for e in errs) + "\n")
        out.append("</details>\n")
    return "\n".join(out)


def write_docs(page: Path, results: list[dict[str, Any]], examples: dict[str, Any]) -> None:
    """Replace what lies between ``<!-- results -->`` and ``<!-- /results -->`` in ``page``."""
    text = page.read_text()
    start, end = "<!-- results -->", "<!-- /results -->"
    if start not in text or end not in text:
        raise SystemExit(f"{page} has no {start} ... {end} section")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    body = (
        markdown_table(results)
        + "\n\nExamples (source → candidate), accepted and rejected, per generator:\n\n"
        + markdown_examples(examples)
    )
    page.write_text(f"{head}{start}\n{body}\n{end}{tail}")


def _reasons(cands: list[Candidate], errors: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in cands:
        out[c.verdict.reason.value] = out.get(c.verdict.reason.value, 0) + 1
    if errors:
        out["error"] = len(errors)
    return out


if __name__ == "__main__":
    main()
