"""Persona throughput and quality on telco_churn (+ CDNOW logs), and which TabularEncoder variant
rejects bad rows better.

Prints, from one run on this machine:

1. rows/s to synthesise N personas (default 100,000) for one segment (senior citizens) with the
   Gaussian copula, *including* the segment filter (band + privacy bound), category repair,
   rules and Faker identities; the interaction logs are timed separately. SMOTE-NC is timed on a
   smaller count (it is much slower).
2. the quality report's figures (column shapes, pair trends, DCR against a 20% holdout of the
   segment) for both methods, and writes their PNGs under --out.
3. encoder comparison: held-out real senior rows (good) against corrupted ones (3 columns
   replaced by values drawn from the whole table: each value is plausible, the combination is
   not) and against real non-senior rows relabelled as seniors; for each variant, the ROC AUC of
   "similarity to the closest segment row" and the share of bad rows rejected at the bound that
   keeps 95% of the good rows.

    python benchmarks/persona_throughput.py                   # 100,000 personas
    python benchmarks/persona_throughput.py --n 20000 --skip-text
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from augment.persona import PersonaSynthesizer, read_cdnow
from augment.persona.quality import evaluate_segment
from fidelity.encoders.tabular import TabularEncoder

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AUGMENT_SHARED_DATA", REPO.parent / "shared" / "data")) / "tabular"
FORMULA = "total_charges ~ tenure * monthly_charges"
SEGMENT = {"senior_citizen": 1}


def throughput(table: pd.DataFrame, log: pd.DataFrame, n: int, n_smote: int) -> dict:
    out: dict = {}
    synth = PersonaSynthesizer(rules=[FORMULA], missing="drop")
    t = time.perf_counter()
    synth.fit(table, log)
    synth.segment_filter(SEGMENT)  # per-segment fit: sampler, filter calibration
    out["fit_s"] = time.perf_counter() - t
    t = time.perf_counter()
    res = synth.generate(SEGMENT, n, interactions=False)
    gen = time.perf_counter() - t
    out["copula"] = {
        "personas": len(res.personas),
        "candidates": len(res.verdicts),
        "seconds": round(gen, 2),
        "rows_per_s": round(len(res.personas) / gen),
        "reasons": res.summary().set_index("reason")["count"].to_dict(),
    }
    t = time.perf_counter()
    logs = synth.interaction_log(res)
    out["copula"]["interaction_events"] = len(logs)
    out["copula"]["interactions_s"] = round(time.perf_counter() - t, 2)

    smote = PersonaSynthesizer(method="smote", rules=[FORMULA], missing="drop").fit(table)
    smote.segment_filter(SEGMENT)
    t = time.perf_counter()
    res = smote.generate(SEGMENT, n_smote, interactions=False)
    gen = time.perf_counter() - t
    out["smote"] = {
        "personas": len(res.personas),
        "candidates": len(res.verdicts),
        "seconds": round(gen, 2),
        "rows_per_s": round(len(res.personas) / gen),
        "reasons": res.summary().set_index("reason")["count"].to_dict(),
    }
    return out


def quality(table: pd.DataFrame, n: int, out_dir: Path) -> dict:
    figures = {}
    for method in ("copula", "smote"):
        synth = PersonaSynthesizer(method=method, rules=[FORMULA], missing="drop")
        report, _ = evaluate_segment(synth, table, SEGMENT, n)
        report.plot(out_dir / f"persona_quality_{method}.png")
        figures[method] = {k: round(v, 4) for k, v in report.figures().items()}
    return figures


def corrupt(
    rows: pd.DataFrame, table: pd.DataFrame, k: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Each row gets ``k`` columns (not the segment column) replaced by values drawn from the
    whole table."""
    bad = rows.copy().reset_index(drop=True)
    cols = [c for c in rows.columns if c != "senior_citizen"]
    for i in range(len(bad)):
        for c in rng.choice(cols, size=k, replace=False):
            bad.at[i, c] = table[c].iloc[rng.integers(len(table))]
    return bad


def auc(good: np.ndarray, bad: np.ndarray) -> float:
    """P(similarity of a good row > that of a bad row)."""
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(good, bad).statistic / (len(good) * len(bad)))


def encoders(table: pd.DataFrame, n_test: int, seed: int = 0) -> dict:
    real = table.dropna().reset_index(drop=True)
    rng = np.random.default_rng(seed)
    seniors = np.flatnonzero(real.senior_citizen == 1)
    test = rng.choice(seniors, size=n_test, replace=False)
    train = real.drop(index=test)
    seg = train[train.senior_citizen == 1]
    good = real.iloc[test]
    shuffled = corrupt(good, real, 3, rng)
    others = (
        real[real.senior_citizen == 0].sample(n_test, random_state=seed).assign(senior_citizen=1)
    )
    results = {}
    for variant in ("standard", "text"):
        if variant == "text" and os.environ.get("SKIP_TEXT"):
            continue
        enc = TabularEncoder(variant).fit(train)
        t = time.perf_counter()
        base = enc.encode(seg)

        def nearest(
            rows: pd.DataFrame, base: np.ndarray = base, enc: TabularEncoder = enc
        ) -> np.ndarray:
            return (enc.encode(rows) @ base.T).max(axis=1)

        s_good, s_shuf, s_other = nearest(good), nearest(shuffled), nearest(others)
        bound = np.quantile(s_good, 0.05)
        results[variant] = {
            "auc_corrupted": round(auc(s_good, s_shuf), 3),
            "auc_other_segment": round(auc(s_good, s_other), 3),
            "rejected_corrupted_at_95pct_good_kept": round(float(np.mean(s_shuf < bound)), 3),
            "rejected_other_segment_at_95pct_good_kept": round(float(np.mean(s_other < bound)), 3),
            "seconds": round(time.perf_counter() - t, 1),
            "rows_encoded": len(seg) + 3 * n_test,
        }
    return results


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=100_000, help="copula personas to time")
    ap.add_argument("--n-smote", type=int, default=10_000, help="SMOTE-NC personas to time")
    ap.add_argument("--n-quality", type=int, default=10_000, help="personas per quality report")
    ap.add_argument("--n-test", type=int, default=200, help="good/bad rows per encoder test")
    ap.add_argument("--skip-text", action="store_true", help="skip the (slow) text encoder")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "persona_benchmark")
    args = ap.parse_args()
    if args.skip_text:
        os.environ["SKIP_TEXT"] = "1"
    if not SHARED.is_dir():
        raise SystemExit(f"shared data not found at {SHARED}: set AUGMENT_SHARED_DATA")
    args.out.mkdir(parents=True, exist_ok=True)
    table = pd.read_csv(SHARED / "telco_churn.csv")
    log = read_cdnow(str(SHARED / "cdnow_transactions.txt"))
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU",
        "throughput": throughput(table, log, args.n, args.n_smote),
        "quality": quality(table, args.n_quality, args.out),
        "encoders": encoders(table, args.n_test),
    }
    print(json.dumps(report, indent=1, default=str))
    tp = report["throughput"]
    print(
        f"\ncopula: {tp['copula']['personas']:,} personas in {tp['copula']['seconds']} s "
        f"({tp['copula']['rows_per_s']:,} rows/s, filter included; target < 10 s); "
        f"interaction logs {tp['copula']['interactions_s']} s extra"
    )
    print(
        f"smote:  {tp['smote']['personas']:,} personas in {tp['smote']['seconds']} s "
        f"({tp['smote']['rows_per_s']:,} rows/s)"
    )
    (args.out / "persona_benchmark.json").write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
