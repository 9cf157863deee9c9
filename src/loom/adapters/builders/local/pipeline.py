"""The local builder's work, end to end, as plain functions over DataFrames (no Metaflow here).

`build(...)` runs one capability (tokenize | pretrain | embed | finetune | evaluate) and returns
the artifacts to store. The TrainBackbone flow calls it inside its step; tests and the bench call
it directly. Deterministic: same data + settings -> same vocabulary, embeddings, fingerprint.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from loom.adapters.builders.local import backbone as bb
from loom.adapters.builders.local import heads
from loom.adapters.builders.local.tokenizer import (
    EventColumns,
    detect_columns,
    fit_tokenizer,
    sequences,
    vocabulary,
)
from loom.domain.errors import UsageError

#: What each budget means on CPU: embedding width, numeric buckets, category cap, window.
LOCAL_BUDGETS: dict[str, dict[str, int]] = {
    "probe": {"dim": 16, "n_buckets": 8, "max_categories": 256, "window": 2, "recent": 5},
    "small": {"dim": 64, "n_buckets": 16, "max_categories": 2_000, "window": 3, "recent": 8},
    "full": {"dim": 128, "n_buckets": 32, "max_categories": 20_000, "window": 5, "recent": 16},
}

CAPABILITIES = ("tokenize", "pretrain", "embed", "finetune", "evaluate")
OBJECTIVES = ("next-event", "masked-field", "contrastive")


def event_frame(train: Any, test: Any | None, entity_col: str | None) -> Any:
    """All events: the train table plus the test table when it carries the same entities."""
    import pandas as pd

    if test is None or not isinstance(test, pd.DataFrame) or len(test) == 0:
        return train
    if entity_col and entity_col not in test.columns:
        return train
    return pd.concat([train, test], ignore_index=True, sort=False)


def build(
    train: Any,
    schema: dict[str, Any],
    *,
    capability: str,
    objective: str,
    budget: str,
    seed: int = 0,
    holdout: float = 0.2,
    metric: str | None = None,
    entity: str | None = None,
    time_col: str | None = None,
    test: Any | None = None,
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run `capability`; `source` holds a previous backbone's artifacts (--backbone)."""
    if capability not in CAPABILITIES:
        raise UsageError(f"unknown capability '{capability}'; valid: {', '.join(CAPABILITIES)}")
    if objective not in OBJECTIVES:
        raise UsageError(f"unknown objective '{objective}'; valid: {', '.join(OBJECTIVES)}")
    settings = dict(LOCAL_BUDGETS[budget])
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    target = schema.get("target") if isinstance(schema, dict) else None

    if source:
        columns = EventColumns(**{**source["columns"], "fields": tuple(source["columns"]["fields"])})
        label = target if target and target in train.columns else None
        columns = EventColumns(columns.entity, columns.time, label, columns.fields)
        objective, settings = source["objective"], dict(source["settings"])
    else:
        columns = detect_columns(train, target, entity, time_col)
    df = event_frame(train, test, columns.entity)
    state = source["tokenizer"] if source else fit_tokenizer(
        df, columns, settings["n_buckets"], settings["max_categories"])
    vocab = vocabulary(state)
    seqs = sequences(df, columns, state)
    timings["tokenize"] = time.perf_counter() - t0
    out: dict[str, Any] = {
        "capability": capability, "objective": objective, "budget": budget, "settings": settings,
        "columns": {**asdict(columns), "fields": list(columns.fields)}, "tokenizer": state,
        "vocab": vocab,
        "metrics": {"events": int(seqs.tokens.shape[0]), "entities": int(seqs.n_entities),
                    "vocab_size": len(vocab), "fields": len(columns.fields)},
    }
    if capability == "tokenize":
        out["token_counts"] = _token_counts(seqs.tokens, len(vocab))
        out["timings"] = timings
        return out

    t = time.perf_counter()
    if source and source.get("embeddings") is not None:
        emb, fp = source["embeddings"], source["fingerprint"]
    else:
        counts = bb.cooccurrence(seqs.tokens, seqs.entity, len(vocab), objective, settings["window"])
        emb = bb.truncated_svd(bb.ppmi(counts), settings["dim"], seed)
        emb[:3] = 0.0  # reserved ids carry no meaning
        meta = {"objective": objective, "settings": settings, "seed": seed}
        fp = bb.fingerprint(vocab, emb, meta)
        out["metrics"]["nonzeros"] = int(counts.nnz)
    timings["pretrain"] = time.perf_counter() - t
    out.update(embeddings=emb, fingerprint=fp, dim=int(emb.shape[1]))

    t = time.perf_counter()
    x = bb.pool(seqs.tokens, seqs.entity, seqs.n_entities, emb, settings["recent"])
    timings["embed"] = time.perf_counter() - t
    if capability == "embed":
        out.update(entity_ids=seqs.entity_ids, entity_embeddings=x, timings=timings)
        return out

    if seqs.labels is None:
        if capability == "pretrain":
            out["timings"] = timings
            return out
        raise UsageError("finetune/evaluate need a label: ingest the dataset with --target COLUMN")
    task = heads.label_task(seqs.labels, metric)
    sealed = heads.sealed_mask(seqs.entity_ids, holdout, seed)
    fit_rows, eval_rows = task.known & ~sealed, task.known & sealed
    if fit_rows.sum() < 4 or eval_rows.sum() < 2:
        raise UsageError("too few labelled entities for a sealed split (need a few dozen)")
    t = time.perf_counter()
    head = source.get("head") if (source and capability == "evaluate") else None
    head = head or heads.fit_head(x, task, fit_rows, seed)
    timings["finetune"] = time.perf_counter() - t
    out["head"] = head
    out["task"] = {"kind": task.kind, "metric": task.metric, "classes": list(task.classes)}
    out["metrics"]["metric"] = task.metric
    out["metrics"][f"fit_{task.metric}"] = round(heads.score(head, x, task, fit_rows), 6)
    if capability == "finetune":
        out["timings"] = timings
        return out

    t = time.perf_counter()
    raw = heads.raw_features(df, seqs.entity_rows, seqs.n_entities, columns.fields)  # order-free
    base_head = heads.fit_head(raw, task, fit_rows, seed)
    ours = heads.score(head, x, task, eval_rows)
    base = heads.score(base_head, raw, task, eval_rows)
    timings["evaluate"] = time.perf_counter() - t
    out["metrics"].update({
        task.metric: round(ours, 6), f"baseline_{task.metric}": round(base, 6),
        "lift": heads.lift(task.metric, ours, base), "sealed_entities": int(eval_rows.sum()),
    })
    out["timings"] = timings
    return out


def _token_counts(tokens: Any, vocab_size: int) -> list[int]:
    import numpy as np

    return np.bincount(tokens.ravel(), minlength=vocab_size).astype(int).tolist()
