"""Loan defaults with planted leakage: the EDA must flag it and `features` must drop it.

Writes train.csv and test.csv next to this script (or into OUT_DIR; seeded, no downloads). Honest signal: income,
credit score, debt ratio, employment years and purpose drive the default probability (a good
model reaches ROC-AUC ~0.8). Planted leaks:
- application_ref: a unique reference per application (id_like; loan_id is the declared id);
- loan_status: "charged_off"/"current", the target relabelled (target_duplicate);
- recovery_amount: money recovered after a default, > 0 only when defaulted (near_perfect_predictor);
- closed_date: recorded after application_date (time_leakage).
Usage: python make_data.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def make(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(10.8, 0.45, n).round(0)
    credit = rng.normal(680, 60, n).clip(400, 850).round(0)
    debt_ratio = rng.beta(2, 5, n).round(4)
    years = rng.integers(0, 30, n)
    purpose = rng.choice(["car", "home", "education", "business", "debt"], n, p=[0.25, 0.2, 0.15, 0.15, 0.25])
    amount = (income * rng.uniform(0.1, 0.6, n)).round(0)
    logit = (-1.0 - 0.025 * (credit - 680) + 7.0 * (debt_ratio - 0.28) - 0.06 * (years - 10)
             - 1.2 * (np.log(income) - 10.8) + np.where(purpose == "business", 1.0, 0.0)
             + rng.normal(0, 0.5, n))
    defaulted = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    start = pd.Timestamp("2022-01-01")
    applied = start + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    closed = applied + pd.to_timedelta(rng.integers(30, 400, n), unit="D")
    refs = np.random.default_rng(seed + 1).permutation(900000)[:n] + 100000
    return pd.DataFrame({
        "loan_id": np.arange(100000, 100000 + n),
        "application_ref": [f"APP-{r}" for r in refs],
        "income": income,
        "credit_score": credit,
        "debt_ratio": debt_ratio,
        "employment_years": years,
        "purpose": purpose,
        "loan_amount": amount,
        "application_date": applied.strftime("%Y-%m-%d"),
        "closed_date": closed.strftime("%Y-%m-%d"),
        "loan_status": np.where(defaulted == 1, "charged_off", "current"),
        "recovery_amount": np.where(defaulted == 1, (amount * rng.uniform(0.05, 0.5, n)).round(0), 0.0),
        "defaulted": defaulted,
    })


def main(out: Path) -> Path:
    df = make()
    out.mkdir(parents=True, exist_ok=True)
    df.iloc[:2400].to_csv(out / "train.csv", index=False)
    df.iloc[2400:].drop(columns=["defaulted"]).to_csv(out / "test.csv", index=False)
    return out


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent))
