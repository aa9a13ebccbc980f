"""Writes the small example customer table and purchase log that `augment demo` uses.

Made up from scratch with a fixed seed (nothing comes from a real data set): 200 customers of an
online shop, of which the over-65s are a small segment (about 1 in 8), and about 1,300
purchases that follow the profile (plan and age). Run from the repository root to regenerate:

    python augment/examples/persona/make_example.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
N_CUSTOMERS = 200
SEED = 20240601


def make(seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = N_CUSTOMERS
    region = rng.choice(["north", "south", "east", "west"], size=n, p=[0.2, 0.3, 0.3, 0.2])
    senior = rng.random(n) < 0.12
    age = np.where(
        senior, rng.integers(65, 88, size=n), np.clip(rng.normal(40, 11, size=n), 18, 64)
    )
    age = age.round().astype(int)
    plan = np.where(
        senior,
        rng.choice(["basic", "plus", "premium"], size=n, p=[0.6, 0.3, 0.1]),
        rng.choice(["basic", "plus", "premium"], size=n, p=[0.3, 0.4, 0.3]),
    )
    base = {"basic": 9.99, "plus": 19.99, "premium": 34.99}
    monthly = np.array([base[p] for p in plan]) + rng.gamma(2.0, 4.0, size=n)
    monthly = monthly.round(2)
    tenure = np.clip(rng.gamma(2.0, 10.0, size=n) + senior * 8, 1, 96).round().astype(int)
    total = (tenure * monthly * rng.normal(1.0, 0.03, size=n)).round(2)
    newsletter = rng.random(n) < np.where(senior, 0.3, 0.6)
    app_user = np.where(senior, rng.random(n) < 0.25, rng.random(n) < 0.7)
    tickets = rng.poisson(np.where(senior, 2.5, 1.0))
    churned = rng.random(n) < 0.15 + 0.1 * (tickets > 2)
    customers = pd.DataFrame(
        {
            "customer_id": [f"C{i:04d}" for i in range(1, n + 1)],
            "region": region,
            "age": age,
            "plan": plan,
            "app_user": np.where(app_user, "yes", "no"),
            "newsletter": newsletter.astype(int),
            "tenure_months": tenure,
            "monthly_spend": monthly,
            "total_spend": total,
            "support_tickets": tickets,
            "churned": np.where(churned, "yes", "no"),
        }
    )
    # What a customer buys follows the profile: seniors buy less often and fewer items; the
    # higher the plan, the more often and the dearer (premium members buy about twice as much
    # a year as basic ones), so that a segment's log differs from the population's.
    rows = []
    start = np.datetime64("2024-01-01")
    rate = {"basic": 4.5, "plus": 6.0, "premium": 8.5}
    price = {"basic": 5.0, "plus": 6.0, "premium": 7.5}
    for cid, is_senior, p in zip(customers.customer_id, senior, plan, strict=True):
        k = rng.poisson(rate[p] * (0.5 if is_senior else 1.0)) + 1
        days = np.sort(rng.integers(0, 365, size=k))
        for d in days:
            items = int(rng.integers(1, 4 if is_senior else 6))
            amount = round(float(items * rng.gamma(3.0, price[p])), 2)
            date = int(str(start + np.timedelta64(int(d), "D")).replace("-", ""))
            rows.append((cid, date, items, amount))
    purchases = pd.DataFrame(rows, columns=["customer_id", "date", "items", "amount"])
    return customers, purchases


if __name__ == "__main__":
    customers, purchases = make()
    customers.to_csv(HERE / "customers.csv", index=False)
    purchases.to_csv(HERE / "purchases.csv", index=False)
    print(f"wrote {len(customers)} customers and {len(purchases)} purchases to {HERE}")
