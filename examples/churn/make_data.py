"""Generate the churn example (binary classification): train.csv, test.csv, sample_submission.csv.

Synthetic telecom customers; seeded numpy, no downloads. Run: python examples/churn/make_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
N_TRAIN, N_TEST, SEED = 2000, 500, 7


def make(n: int, rng: np.random.Generator, start_id: int) -> pd.DataFrame:
    tenure = rng.integers(1, 73, n)
    contract = rng.choice(["month-to-month", "one-year", "two-year"], n, p=[0.55, 0.25, 0.20])
    internet = rng.choice(["dsl", "fiber", "none"], n, p=[0.35, 0.45, 0.20])
    payment = rng.choice(["card", "bank", "check", "e-check"], n, p=[0.3, 0.25, 0.15, 0.3])
    monthly = np.round(20 + 45 * (internet == "fiber") + 25 * (internet == "dsl") + rng.normal(15, 8, n), 2)
    total = np.round(monthly * tenure * rng.uniform(0.9, 1.1, n), 2)
    calls = rng.poisson(1.2 + 1.5 * (internet == "fiber"), n)
    senior = (rng.random(n) < 0.16).astype(int)
    logit = (
        -1.2 - 0.045 * tenure + 1.4 * (contract == "month-to-month") - 0.9 * (contract == "two-year")
        + 0.7 * (internet == "fiber") + 0.6 * (payment == "e-check") + 0.35 * calls
        + 0.015 * (monthly - 60) + 0.4 * senior + 0.5 * ((calls >= 3) & (tenure < 12))
    )
    churn = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({
        "customer_id": np.arange(start_id, start_id + n), "tenure_months": tenure,
        "contract": contract, "internet_service": internet, "payment_method": payment,
        "monthly_charges": monthly, "total_charges": total, "support_calls": calls,
        "senior": senior, "churn": churn,
    })
    missing = rng.random(n) < 0.03  # a few blanks, as in real exports
    frame.loc[missing, "total_charges"] = np.nan
    return frame


def main() -> None:
    rng = np.random.default_rng(SEED)
    train = make(N_TRAIN, rng, 1)
    test = make(N_TEST, rng, N_TRAIN + 1).drop(columns=["churn"])
    train.to_csv(HERE / "train.csv", index=False)
    test.to_csv(HERE / "test.csv", index=False)
    pd.DataFrame({"customer_id": test["customer_id"], "churn": 0.5}).to_csv(HERE / "sample_submission.csv", index=False)
    print(f"wrote {HERE}/train.csv ({len(train)} rows), test.csv ({len(test)}), sample_submission.csv")


if __name__ == "__main__":
    main()
