"""Drift: a reference batch and a shifted batch of the same sensor-style table.

Writes reference/train.csv and current/train.csv next to this script (or under OUT_DIR; seeded, no downloads). In the current
batch `temperature` shifts up by ~1.5 standard deviations, `region` changes its mix, `humidity`
stays put, the `legacy_code` column disappears and a new `firmware` column appears.
`loom ops --dataset CURRENT --reference REFERENCE` must say ATTENTION; reference vs itself HEALTHY.
Usage: python make_data.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd


def batch(n: int, seed: int, shifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    temp = rng.normal(21.0 + (3.0 if shifted else 0.0), 2.0, n).round(2)
    humidity = rng.normal(45, 8, n).round(1)
    mix = [0.2, 0.2, 0.6] if shifted else [0.5, 0.3, 0.2]
    region = rng.choice(["north", "south", "east"], n, p=mix)
    failure = (rng.uniform(size=n) < 1 / (1 + np.exp(-(temp - 24) / 2))).astype(int)
    df = pd.DataFrame({"temperature": temp, "humidity": humidity, "region": region, "failure": failure})
    if shifted:
        df["firmware"] = rng.choice(["v2.1", "v2.2"], n)
    else:
        df["legacy_code"] = rng.integers(0, 5, n)
    return df


def main(out: Path) -> Path:
    for name, seed, shifted in (("reference", 1, False), ("current", 2, True)):
        (out / name).mkdir(parents=True, exist_ok=True)
        batch(1500, seed, shifted).to_csv(out / name / "train.csv", index=False)
    return out


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent))
