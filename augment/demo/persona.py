"""Demo section: personas for a small customer segment, with their purchase logs.

Without ``data``: the example shop (200 customers, 22 of them aged 65 or more) shipped in
``augment/examples/persona``. With ``data`` (e.g. ../shared/data): telco_churn's senior citizens
with CDNOW purchase logs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from augment.persona import PersonaSynthesizer, read_cdnow
from augment.persona.quality import evaluate_segment

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "persona"


def _setup(data: Path | None) -> tuple[pd.DataFrame, pd.DataFrame, PersonaSynthesizer, object, int]:
    if data is None:
        table = pd.read_csv(EXAMPLES / "customers.csv")
        log = pd.read_csv(EXAMPLES / "purchases.csv")
        synth = PersonaSynthesizer(
            rules=["total_spend ~ tenure_months * monthly_spend", "age >= 18"],
            id_column="customer_id",
        )
        return table, log, synth, "age >= 65", 200
    tab = Path(data) / "tabular"
    table = pd.read_csv(tab / "telco_churn.csv")
    log = read_cdnow(str(tab / "cdnow_transactions.txt"))
    synth = PersonaSynthesizer(rules=["total_charges ~ tenure * monthly_charges"], missing="drop")
    return table, log, synth, {"senior_citizen": 1}, 2_000


def run(data: Path | None, out: Path) -> None:
    table, log, synth, segment, n = _setup(data)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source = "example shop" if data is None else f"{data}/tabular/telco_churn.csv + CDNOW log"
    synth.fit(table, log)
    result = synth.generate(segment, n)
    print(
        f"{source}: {len(table)} customers; segment {result.segment.name!r} has "
        f"{result.n_segment_rows} of them"
    )
    print(f"asked for {n} personas, drew {len(result.verdicts)} candidates:")
    print(result.summary().to_string(index=False))
    show = ["persona_id", "name", "email", *synth.columns_[:6]]
    print("\nfirst personas:")
    print(result.personas[show].head(5).to_string(index=False))
    if len(result.rejected):
        print("\nwhy some candidates were rejected (first of each reason):")
        for _, row in result.rejected.groupby("reason").head(1).iterrows():
            print(f"  {row['reason']}: {row['detail']}")
    if result.interactions is not None:
        print(f"\ninteraction log: {len(result.interactions)} events, e.g.")
        print(result.interactions.head(4).to_string(index=False))
        result.interactions.to_csv(out / "persona_interactions.csv", index=False)
    result.personas.to_csv(out / "persona_personas.csv", index=False)
    result.rejected.to_csv(out / "persona_rejected.csv", index=False)

    report, _ = evaluate_segment(synth, table, segment, n)
    figures = report.figures()
    print("\nquality against the real segment (20% of it held out from fitting):")
    for key, value in figures.items():
        print(f"  {key:32s} {value:.3f}")
    png = report.plot(out / "persona_quality.png")
    (out / "persona_quality.json").write_text(json.dumps(report.to_dict(), indent=1, default=str))
    print(
        "\nwrote persona_personas.csv, persona_rejected.csv, persona_interactions.csv, "
        f"persona_quality.json and {png.name} to {out}"
    )
