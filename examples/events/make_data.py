"""Make a tutorial-size event-sequence dataset (seeded, no downloads) for `loom train`.

Each row is one event of one customer: `customer_id` (the entity), `timestamp`, categorical
fields (`event_type`, `channel`, `merchant`), numeric fields (`amount`, `duration_s`), and the
customer's label `churned` (the same on every row of a customer). Churners drift toward
support calls, refunds and downgrades in their last events and favour a few merchants, so the
order and the co-occurrence of events carry signal that plain averages partly miss.

    python examples/events/make_data.py                 # -> examples/events/data/train.csv
    python examples/events/make_data.py --events 100000 --out /tmp/events
    loom ingest --source examples/events/data --target churned
    LOOM_MODEL_BUILDER_PROVIDER=local loom train --dataset IngestDataset/1 --objective next-event
"""

from __future__ import annotations

import argparse
from pathlib import Path

EVENT_TYPES = ["login", "view", "purchase", "support_call", "refund", "downgrade", "upgrade", "review"]
CHANNELS = ["web", "app", "store", "phone"]
N_MERCHANTS = 60
TUTORIAL_EVENTS = 40_000


def make_events(n_events: int = TUTORIAL_EVENTS, seed: int = 7, mean_events: int = 25):
    """A pandas DataFrame of about `n_events` events (vectorized; 1M rows in about a second)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_customers = max(20, n_events // mean_events)
    risk = rng.beta(2, 5, n_customers)  # latent churn propensity
    churned = (rng.random(n_customers) < 0.15 + 0.8 * risk ** 1.5).astype(int)
    lengths = rng.poisson(mean_events - 1, n_customers) + 1
    lengths = np.maximum(1, np.round(lengths * n_events / lengths.sum())).astype(int)
    cust = np.repeat(np.arange(n_customers), lengths)
    n = cust.size
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    pos = np.arange(n) - starts[cust]
    from_end = lengths[cust] - pos - 1
    late = (from_end < 4) & (churned[cust] == 1) & (rng.random(n) < 0.5)  # churners drift, noisily

    base = np.array([0.22, 0.33, 0.2, 0.05, 0.03, 0.02, 0.05, 0.10])
    bad = np.array([0.16, 0.26, 0.12, 0.18, 0.09, 0.07, 0.03, 0.09])
    u = rng.random(n)
    et_good = np.searchsorted(np.cumsum(base), u * base.sum())
    et_bad = np.searchsorted(np.cumsum(bad), u * bad.sum())
    event_type = np.where(late, et_bad, et_good).clip(0, len(EVENT_TYPES) - 1)

    segment = (rng.random(n_customers) < 0.4 + 0.25 * churned).astype(int)  # 0: stable, 1: risky
    merchant = (segment[cust] * (N_MERCHANTS // 2) + rng.integers(0, N_MERCHANTS // 2, n))
    swap = rng.random(n) < 0.6
    merchant = np.where(swap, rng.integers(0, N_MERCHANTS, n), merchant)
    channel = np.where(event_type == 3, 3, rng.integers(0, 3, n))
    amount = np.round(rng.lognormal(3.0 - 0.8 * late, 0.6, n), 2)
    amount = np.where(np.isin(event_type, [2, 4, 6]), amount, 0.0)
    duration = np.round(rng.gamma(2.0, 30.0 + 40.0 * late, n), 1)
    gaps = rng.exponential(2.0 - 1.2 * late, n) * 86_400
    t0 = np.datetime64("2025-01-01T00:00:00")
    offsets = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[starts] - gaps[starts], lengths)
    stamps = t0 + offsets.astype("timedelta64[s]")
    order = rng.permutation(n)  # stored shuffled: the builder must sort by time itself
    frame = pd.DataFrame({
        "customer_id": np.char.add("c", cust.astype(str).astype(object).astype(str)),
        "timestamp": pd.to_datetime(stamps).strftime("%Y-%m-%dT%H:%M:%S"),
        "event_type": np.asarray(EVENT_TYPES, dtype=object)[event_type],
        "channel": np.asarray(CHANNELS, dtype=object)[channel],
        "merchant": np.char.add("m", merchant.astype(str)),
        "amount": amount,
        "duration_s": duration,
        "churned": churned[cust],
    })
    return frame.iloc[order].reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=TUTORIAL_EVENTS, help="about how many events")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "data", help="output dir")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    frame = make_events(args.events, args.seed)
    frame.to_csv(args.out / "train.csv", index=False)
    print(f"wrote {len(frame)} events of {frame['customer_id'].nunique()} customers to {args.out / 'train.csv'}")


if __name__ == "__main__":
    main()
