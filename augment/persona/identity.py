"""Identity fields for personas (names, emails) from Faker, never from real rows.

Faker makes one name in about 0.2 ms; 100,000 personas would spend 20 s there. So a seeded Faker
draws pools of first names, last names and email domains once (Faker's own locale data and
frequency weights), and personas combine pool entries with numpy. Every value is checked against
the real table's identity columns and redrawn on a collision, so no persona carries a real
customer's name or email.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

FIELDS = ("first_name", "last_name", "name", "email")


class IdentityFaker:
    """Makes identity columns for generated rows.

    Parameters
    ----------
    fields:
        Which of ``first_name``, ``last_name``, ``name``, ``email`` to add.
    locale:
        Faker locale (``"en_US"``, ``"de_DE"``, ...).
    pool_size:
        Distinct first and last names drawn from Faker per run.
    """

    def __init__(
        self,
        fields: Iterable[str] = ("name", "email"),
        locale: str = "en_US",
        pool_size: int = 1_000,
    ) -> None:
        self.fields = tuple(fields)
        self.locale = locale
        self.pool_size = pool_size

    def generate(self, n: int, seed: int, forbidden: set[str] | None = None) -> pd.DataFrame:
        """``n`` rows of identity columns; no value in ``forbidden`` (every value of the real
        table's identity columns) is produced, in any field."""
        unknown = [f for f in self.fields if f not in FIELDS]
        if unknown:
            raise ValueError(f"unknown identity field(s) {unknown}; choose from {FIELDS}")
        from faker import Faker

        fake = Faker(self.locale)
        fake.seed_instance(seed)
        firsts = np.array([fake.first_name() for _ in range(self.pool_size)], dtype=object)
        lasts = np.array([fake.last_name() for _ in range(self.pool_size)], dtype=object)
        domains = np.array([fake.free_email_domain() for _ in range(50)], dtype=object)
        rng = np.random.default_rng(seed)
        forbidden = forbidden or set()
        out = pd.DataFrame(index=range(n))
        # one (first, last, domain) draw per row: row i does not depend on how many rows follow
        draw = rng.integers(0, [len(firsts), len(lasts), len(domains)], size=(n, 3))
        first, last, domain = firsts[draw[:, 0]], lasts[draw[:, 1]], domains[draw[:, 2]]
        for _ in range(100):  # redraw names that belong to a real customer
            name = first + " " + last
            clash = (
                pd.Series(name).isin(forbidden).to_numpy()
                | pd.Series(first).isin(forbidden).to_numpy()
                | pd.Series(last).isin(forbidden).to_numpy()
            )
            if not clash.any():
                break
            first[clash] = firsts[rng.integers(len(firsts), size=int(clash.sum()))]
            last[clash] = lasts[rng.integers(len(lasts), size=int(clash.sum()))]
        else:
            raise RuntimeError("could not draw names that differ from the real customers' names")
        if "first_name" in self.fields:
            out["first_name"] = first
        if "last_name" in self.fields:
            out["last_name"] = last
        if "name" in self.fields:
            out["name"] = first + " " + last
        if "email" in self.fields:
            local = (
                pd.Series(first + "." + last).str.lower().str.replace(r"[^a-z0-9.]", "", regex=True)
            )
            # the row number makes every email of the run distinct
            number = pd.Series(np.arange(1, n + 1)).astype(str)
            email = local + number + "@" + pd.Series(domain)
            clash = email.isin(forbidden)
            email[clash] = "persona-" + email[clash]
            out["email"] = email.to_numpy()
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"fields": list(self.fields), "locale": self.locale, "pool_size": self.pool_size}
