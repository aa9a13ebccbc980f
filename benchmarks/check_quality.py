"""Precision and recall of each fidelity check, and of the checks together, on a labelled set
of good and bad candidates built from banking77, with candidates/s of each check.

Sources: ``--shots`` training sentences for each of ``--intents`` intents (confusable ones
among them: card_arrival / card_delivery_estimate, top_up_failed / top_up_reverted, ...); the
label checks are fitted on them. For ``--per-intent`` of those sources per intent, candidates:

* good: a real sentence of the same intent (from the test split);
* bad ``other_intent``: a real sentence of another intent;
* bad ``negation``: the source with its first auxiliary negated (or its negation removed);
* bad ``number_unit``: the source with a number or time unit changed (only where it has one);
* bad ``dropped_verb``: the source without its first content verb (only where one is found);
* bad ``near_copy``: the source lower-cased with its final punctuation changed;
* bad ``sibling_repeat``: the good candidate again, upper-cased (an earlier sibling's copy).

A check "flags" a candidate when it rejects it. Precision: flagged bad / flagged; recall: flagged
bad / bad; recall is also given per kind of bad candidate. Throughput: candidates/s of a filter
holding only that check, from a cold encoder cache (embedding time included; the label checks'
fitting is timed apart). The fluency row starts from a cold LM cache; the combined rows reuse
the LM scores it cached, so their candidates/s leave the LM out (add the fluency row's cost).

    python benchmarks/check_quality.py                 # ~5 min on a loaded 2-core CPU
    python benchmarks/check_quality.py --no-fluency    # without the language model
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from fidelity import FidelityFilter, FluencyCheck, LabelCheck, SiblingCheck, TextEncoder

REPO = Path(__file__).resolve().parents[1]
#: ``$AUGMENT_SHARED_DATA``, else ``../shared/data`` beside the repository
SHARED = Path(os.environ.get("AUGMENT_SHARED_DATA", REPO.parent / "shared" / "data"))

INTENTS = [
    "card_arrival",
    "card_delivery_estimate",
    "top_up_failed",
    "top_up_reverted",
    "exchange_rate",
    "lost_or_stolen_phone",
    "age_limit",
    "cash_withdrawal_charge",
    "passcode_forgotten",
    "transfer_not_received_by_recipient",
]
NEGATED = {
    "is": "isn't",
    "are": "aren't",
    "was": "wasn't",
    "can": "can't",
    "could": "couldn't",
    "do": "don't",
    "does": "doesn't",
    "did": "didn't",
    "has": "hasn't",
    "will": "won't",
    "would": "wouldn't",
    "should": "shouldn't",
}
UNNEG = {v: k for k, v in NEGATED.items()} | {"cannot": "can", "not ": ""}
AUX = r"\b(" + "|".join(NEGATED) + r")\b"
NEG_WORDS = r"\b(" + "|".join(re.escape(k) for k in UNNEG if k != "not ") + r")|\bnot "
UNITS = {
    "days": "years",
    "day": "year",
    "weeks": "months",
    "week": "month",
    "hours": "weeks",
    "minutes": "days",
    "months": "years",
    "dollars": "euros",
    "pounds": "dollars",
}
VERBS = (
    "activate add arrive arrived cancel change charge charged check declined deliver "
    "delivered exchange find get got lost make need order pay received reset send sent "
    "stolen top topped track transfer transferred use used verify want withdraw withdrew"
).split()


def read(split: str) -> dict[str, list[str]]:
    by: dict[str, list[str]] = defaultdict(list)
    with open(SHARED / "text" / "banking77" / f"{split}.txt", encoding="utf-8") as fh:
        for line in fh:
            lab, text = line.rstrip("\n").split("\t", 1)
            by[lab].append(text.strip())
    return by


def negate(s: str) -> str | None:
    """The first auxiliary contracted with n't ("When will I" -> "When won't I"), or the
    source's negation removed."""

    def swap(table: dict[str, str]):
        def repl(m: re.Match) -> str:
            word = m.group(0)
            new = table[word.lower()]
            return new[:1].upper() + new[1:] if word[:1].isupper() else new

        return repl

    out = re.sub(NEG_WORDS, swap(UNNEG), s, count=1, flags=re.I)
    if out != s:
        return out
    out = re.sub(AUX, swap(NEGATED), s, count=1, flags=re.I)
    return out if out != s else None


def change_number_or_unit(s: str) -> str | None:
    m = re.search(r"\d+", s)
    if m:
        n = int(m.group(0))
        return s[: m.start()] + str(n * 10 + 7) + s[m.end() :]
    for a, b in UNITS.items():
        out = re.sub(rf"\b{a}\b", b, s, count=1)
        if out != s:
            return out
    return None


def drop_verb(s: str) -> str | None:
    words = s.split()
    for i, w in enumerate(words):
        if re.sub(r"\W", "", w).lower() in VERBS:
            return " ".join(words[:i] + words[i + 1 :])
    return None


def near_copy(s: str) -> str:
    body = s.rstrip("?.! ")
    return body[0].lower() + body[1:] + ("." if s.endswith("?") else "?")


def build(shots: int, per_intent: int, seed: int) -> dict:
    train, test = read("train"), read("test")
    rng = random.Random(seed)
    sources, labels = [], []
    pairs = []  # (source, candidate, label, kind, source_id)
    edits = {"negation": negate, "number_unit": change_number_or_unit, "dropped_verb": drop_verb}
    for it in INTENTS:
        xs = train[it][:]
        rng.shuffle(xs)
        first = len(sources)
        sources += xs[:shots]
        labels += [it] * shots
        goods = test[it][:]
        rng.shuffle(goods)
        for j in range(per_intent):  # real sentences, good and bad, and a near copy
            s, good = sources[first + j], goods[j]
            other_it = rng.choice([o for o in INTENTS if o != it])
            for kind, c in (
                ("good", good),
                ("other_intent", rng.choice(test[other_it])),
                ("near_copy", near_copy(s)),
                ("sibling_repeat", good.upper()),  # after "good": an earlier sibling's copy
            ):
                pairs.append((s, c, it, kind, first + j))
        for kind, edit in edits.items():  # edits: up to per_intent sources where they apply
            made = 0
            for j in range(shots):
                c = edit(sources[first + j])
                if c is not None and made < per_intent:
                    pairs.append((sources[first + j], c, it, kind, first + j))
                    made += 1
    return {"sources": sources, "labels": labels, "pairs": pairs}


def evaluate(flags: np.ndarray, kinds: np.ndarray) -> dict:
    bad = kinds != "good"
    tp = int((flags & bad).sum())
    out = {
        "precision": tp / max(int(flags.sum()), 1),
        "recall": tp / max(int(bad.sum()), 1),
        "good_passed": float(np.mean(~flags[~bad])),
    }
    for k in sorted(set(kinds) - {"good"}):
        out[f"recall_{k}"] = float(np.mean(flags[kinds == k]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shots", type=int, default=10)
    ap.add_argument("--per-intent", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-fluency", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = ap.parse_args()

    data = build(args.shots, args.per_intent, args.seed)
    srcs, cands, labs, kinds, sids = (list(x) for x in zip(*data["pairs"]))
    kinds_a = np.array(kinds)
    enc = TextEncoder()
    enc.encode(["warm-up"])  # model load is not a check's cost
    fluency = None if args.no_fluency else FluencyCheck()
    if fluency is not None and fluency.scorer is None:
        print(f"fluency check off: {fluency.unavailable}")
        fluency = None
    checks: dict[str, list] = {
        "band [0.70, 0.98]": ["band"],
        "siblings": [SiblingCheck()],
        "label (cross-fitted LR)": [LabelCheck()],
        "label (kNN, k=5)": [LabelCheck("knn", k=5)],
    }
    if fluency is not None:
        checks[f"fluency (min_delta {fluency.min_delta})"] = [fluency]
    combined = [LabelCheck()] + ([fluency] if fluency else []) + [SiblingCheck()]
    checks["label + fluency + siblings" if fluency else "label + siblings"] = combined
    checks["band + label + fluency + siblings" if fluency else "band + label + siblings"] = [
        "band",
        *combined,
    ]
    rows = []
    for name, chks in checks.items():
        enc.clear_cache()
        if fluency is not None and name.startswith("fluency"):
            fluency.scorer._cache.clear()
        flt = FidelityFilter(enc, checks=chks)
        t0 = time.perf_counter()
        flt.fit(data["sources"], data["labels"])
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        verdicts = flt.judge(srcs, cands, labels=labs, source_ids=sids)
        judge_s = time.perf_counter() - t0
        flags = np.array([not v.accepted for v in verdicts])
        row = {"check": name, **evaluate(flags, kinds_a), "cand_per_s": len(cands) / judge_s}
        row["fit_s"] = fit_s
        rows.append(row)
        print(json.dumps(row))
    counts = {k: int((kinds_a == k).sum()) for k in sorted(set(kinds))}
    result = {"pairs": len(cands), "kinds": counts, "intents": INTENTS, "rows": rows, **vars(args)}
    result["out"] = str(args.out) if args.out else None
    print(json.dumps(counts))
    print(table(rows))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


def table(rows: list[dict]) -> str:
    kinds = sorted(k for k in rows[0] if k.startswith("recall_"))
    head = ["check", "precision", "recall", "good passed", *[k[7:] for k in kinds], "cand/s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            r["check"],
            f"{r['precision']:.2f}",
            f"{r['recall']:.2f}",
            f"{r['good_passed']:.2f}",
        ]
        cells += [f"{r[k]:.2f}" for k in kinds] + [f"{r['cand_per_s']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
