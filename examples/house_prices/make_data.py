"""Generate the house-prices example (regression): train.csv, test.csv, sample_submission.csv.

Synthetic houses; seeded numpy, no downloads. Run: python examples/house_prices/make_data.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
N_TRAIN, N_TEST, SEED = 1500, 500, 11
HOODS = {"riverside": 1.25, "old_town": 1.1, "suburbs": 1.0, "industrial": 0.8, "hills": 1.4}


def make(n: int, rng: np.random.Generator, start_id: int) -> pd.DataFrame:
    hood = rng.choice(list(HOODS), n, p=[0.15, 0.2, 0.4, 0.1, 0.15])
    sqft = np.round(rng.lognormal(7.3, 0.35, n))
    bedrooms = np.clip(np.round(sqft / 550 + rng.normal(0, 0.8, n)), 1, 7).astype(int)
    bathrooms = np.clip(np.round(bedrooms * 0.6 + rng.normal(0, 0.5, n)), 1, 5).astype(int)
    year = rng.integers(1920, 2024, n)
    lot = np.round(rng.lognormal(8.6, 0.5, n))
    garage = rng.integers(0, 4, n)
    condition = rng.integers(1, 6, n)
    mult = np.array([HOODS[h] for h in hood])
    price = mult * (
        60_000 + 120 * sqft + 9_000 * bathrooms + 2.5 * np.sqrt(lot) * 100
        + 6_000 * garage + 12_000 * (condition - 3) + 900 * np.maximum(year - 1960, 0)
    ) * rng.lognormal(0, 0.08, n)
    return pd.DataFrame({
        "id": np.arange(start_id, start_id + n), "neighborhood": hood, "sqft": sqft,
        "bedrooms": bedrooms, "bathrooms": bathrooms, "year_built": year, "lot_size": lot,
        "garage_cars": garage, "condition": condition, "price": np.round(price, -2),
    })


def main() -> None:
    rng = np.random.default_rng(SEED)
    train = make(N_TRAIN, rng, 1)
    test = make(N_TEST, rng, N_TRAIN + 1).drop(columns=["price"])
    train.to_csv(HERE / "train.csv", index=False)
    test.to_csv(HERE / "test.csv", index=False)
    pd.DataFrame({"id": test["id"], "price": float(train["price"].mean().round())}).to_csv(HERE / "sample_submission.csv", index=False)
    print(f"wrote {HERE}/train.csv ({len(train)} rows), test.csv ({len(test)}), sample_submission.csv")


if __name__ == "__main__":
    main()
