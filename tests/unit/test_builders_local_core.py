"""The local builder's math on tiny, hand-checkable event tables (no Metaflow)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loom.adapters.builders.local import backbone as bb
from loom.adapters.builders.local.pipeline import build
from loom.adapters.builders.local.tokenizer import (
    RESERVED,
    detect_columns,
    fit_tokenizer,
    sequences,
    transform,
    vocabulary,
)
from loom.adapters.builders.nemo.data_prep import SHARD_MAGIC, token_stream, write_shard
from loom.domain.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    sys.path.insert(0, str(ROOT / "examples" / "events"))
    try:
        from make_data import make_events
    finally:
        sys.path.pop(0)
    return make_events(6_000, seed=3)


def _toy() -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": ["b", "a", "a", "b", "a"],
        "ts": [2, 3, 1, 1, 2],
        "kind": ["x", "y", "x", "z", "x"],
        "amount": [1.0, 2.0, 3.0, 4.0, np.nan],
        "label": [1, 0, 0, 1, 0],
    })


def test_columns_are_detected_and_ids_are_reserved_then_sorted() -> None:
    df = _toy()
    cols = detect_columns(df, "label")
    assert (cols.entity, cols.time, cols.label, cols.fields) == ("user_id", "ts", "label", ("amount", "kind"))
    state = fit_tokenizer(df, cols, n_buckets=2, max_categories=10)
    vocab = vocabulary(state)
    assert vocab[:3] == list(RESERVED)
    assert vocab[3:5] == ["amount=q0", "amount=q1"]  # fields in name order, buckets in order
    assert [t for t in vocab if t.startswith("kind=")] == ["kind=x", "kind=y", "kind=z", "kind=<na>"]
    assert [t for t in vocab if t.startswith("amount=")][-1] == "amount=<na>"


def test_a_table_of_one_row_per_entity_is_refused_not_built() -> None:
    """churn (one row per customer) "built" a backbone scoring ROC-AUC 0.5, below its raw-feature baseline."""
    one_each = _toy().assign(user_id=["a", "b", "c", "d", "e"])
    with pytest.raises(UsageError, match="'user_id' names every row once") as err:
        detect_columns(one_each, "label")
    assert err.value.exit_code == 2


def test_ids_do_not_depend_on_row_order_and_unseen_values_map_to_unk() -> None:
    df = _toy()
    cols = detect_columns(df, "label")
    a = vocabulary(fit_tokenizer(df, cols, 2, 10))
    b = vocabulary(fit_tokenizer(df.iloc[::-1], cols, 2, 10))
    assert a == b
    state = fit_tokenizer(df, cols, 2, 10)
    other = df.assign(kind=["never", "x", "x", "x", "x"])
    assert transform(other, state)[0, 1] == 1  # [UNK]
    na_amount = vocabulary(state).index("amount=<na>")
    assert transform(df, state)[4, 0] == na_amount


def test_events_are_ordered_by_time_within_each_entity() -> None:
    df = _toy()
    cols = detect_columns(df, "label")
    state = fit_tokenizer(df, cols, 2, 10)
    seqs = sequences(df, cols, state)
    vocab = vocabulary(state)
    kinds = [vocab[t] for t in seqs.tokens[:, 1]]
    assert list(seqs.entity_ids) == ["a", "b"]
    assert seqs.entity.tolist() == [0, 0, 0, 1, 1]
    assert kinds == ["kind=x", "kind=x", "kind=y", "kind=z", "kind=x"]  # a: t1 x, t2 x, t3 y
    assert seqs.labels.tolist() == [0, 1]


def test_cooccurrence_context_depends_on_the_objective() -> None:
    tokens = np.array([[3, 5], [4, 6], [3, 6]], dtype=np.int32)  # one entity, three events
    entity = np.array([0, 0, 0])
    nxt = bb.cooccurrence(tokens, entity, 7, "next-event", 1).toarray()
    assert nxt[3, 4] == 1 and nxt[4, 3] == 1 and nxt[3, 6] == 1 and nxt[4, 6] == 1  # ordered pairs
    assert nxt[6, 3] == 1 and nxt[5, 4] == 1 and nxt[5, 3] == 0
    same = bb.cooccurrence(tokens, entity, 7, "masked-field", 1).toarray()
    assert same[3, 5] == 1 and same[5, 3] == 1 and same[3, 6] == 1 and same[3, 4] == 0
    assert np.all(np.diag(same) == 0)
    window = bb.cooccurrence(tokens, entity, 7, "contrastive", 2).toarray()
    assert np.allclose(window, window.T)
    assert window[5, 6] == pytest.approx(1.0 + 0.5)  # event0->event1 (1/1) + event0->event2 (1/2)
    broken = bb.cooccurrence(tokens, np.array([0, 1, 1]), 7, "next-event", 1).toarray()
    assert broken[3, 4] == 0 and broken[4, 3] == 1  # no pair across entities


def test_ppmi_is_sparse_and_non_negative() -> None:
    from scipy import sparse

    counts = sparse.csr_matrix(np.array([[0, 4, 1], [4, 0, 1], [1, 1, 0]], dtype=float))
    m = bb.ppmi(counts)
    assert sparse.issparse(m) and m.data.min() > 0
    assert m[0, 1] > 0 and m.nnz <= counts.nnz


def test_same_events_same_fingerprint_whatever_the_row_order(events: pd.DataFrame) -> None:
    a = build(events, {"target": "churned"}, capability="pretrain", objective="next-event", budget="probe")
    b = build(events.sample(frac=1.0, random_state=1), {"target": "churned"}, capability="pretrain",
              objective="next-event", budget="probe")
    c = build(events, {"target": "churned"}, capability="pretrain", objective="contrastive", budget="probe")
    assert a["fingerprint"] == b["fingerprint"] and len(a["fingerprint"]) == 64
    assert c["fingerprint"] != a["fingerprint"]
    assert a["embeddings"].shape == (len(a["vocab"]), 16)
    assert np.all(a["embeddings"][:3] == 0)


def test_evaluate_reports_metric_baseline_and_lift_on_a_sealed_split(events: pd.DataFrame) -> None:
    out = build(events, {"target": "churned"}, capability="evaluate", objective="masked-field", budget="probe")
    m = out["metrics"]
    assert m["metric"] == "roc_auc" and 0.5 < m["roc_auc"] <= 1.0
    assert m["lift"] == pytest.approx(m["roc_auc"] - m["baseline_roc_auc"], abs=1e-5)
    assert 0 < m["sealed_entities"] < m["entities"]


def test_embed_pools_one_vector_per_entity(events: pd.DataFrame) -> None:
    out = build(events, {"target": "churned"}, capability="embed", objective="next-event", budget="probe")
    assert out["entity_embeddings"].shape == (events["customer_id"].nunique(), 2 * out["dim"])
    assert len(out["entity_ids"]) == out["entity_embeddings"].shape[0]


def test_bad_inputs_are_one_line_usage_errors(events: pd.DataFrame) -> None:
    with pytest.raises(UsageError, match="entity"):
        detect_columns(pd.DataFrame({"a": [1, 2], "b": [3, 4]}), None)
    with pytest.raises(UsageError, match="label"):
        build(events.drop(columns=["churned"]), {}, capability="finetune", objective="next-event", budget="probe")
    with pytest.raises(UsageError, match="metric"):
        build(events, {"target": "churned"}, capability="evaluate", objective="next-event", budget="probe",
              metric="bleu")


def test_token_shards_use_the_recipe_dataset_layout(tmp_path: Path) -> None:
    stream = token_stream(np.array([[3, 4], [5, 6], [7, 8]]), np.array([0, 0, 1]))
    assert stream.tolist() == [0, 3, 4, 5, 6, 0, 7, 8]
    path = write_shard(tmp_path / "s.bin", stream)
    header = np.fromfile(path, dtype=np.int32, count=256)
    assert (header[0], header[1], header[2]) == (SHARD_MAGIC, 1, 8)
    assert np.fromfile(path, dtype=np.uint16, offset=1024).tolist() == stream.tolist()


def test_event_pairs_are_consecutive_windows_of_one_entity(events: pd.DataFrame, tmp_path: Path) -> None:
    import json

    from loom.adapters.builders.nemo.data_prep import write_pairs

    cols = detect_columns(events, "churned")
    state = fit_tokenizer(events, cols, 8, 256)
    seqs = sequences(events, cols, state)
    n = write_pairs(seqs, vocabulary(state), tmp_path / "pairs.jsonl", window=4)
    records = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text().splitlines()]
    assert n == len(records) > 100
    first = records[0]
    assert set(first) == {"query", "pos_doc", "neg_doc"} and len(first["neg_doc"]) == 1
    assert first["query"].count(" | ") == 3 and "event_type=" in first["query"]


def test_heads_score_gini_brier_medae_and_smape_like_sklearn() -> None:
    from sklearn import metrics as sk

    from loom.adapters.builders.local import heads

    rng = np.random.default_rng(4)
    x = rng.normal(size=(300, 3))
    rows = np.ones(300, dtype=bool)
    label = np.where(x[:, 0] + rng.normal(0, 1, 300) > 0, "yes", "no")
    for metric in ("gini", "brier"):
        task = heads.label_task(label, metric)
        model = heads.fit_head(x, task, rows, seed=0)
        p = model.predict_proba(x)[:, 1]  # classes sorted: "no", "yes"
        expected = (2 * sk.roc_auc_score(label == "yes", p) - 1 if metric == "gini"
                    else sk.brier_score_loss(label == "yes", p, pos_label=True))
        assert heads.score(model, x, task, rows) == pytest.approx(expected)
    assert heads.lift("gini", 0.5, 0.4) == pytest.approx(0.1) and heads.lift("brier", 0.1, 0.2) == pytest.approx(0.1)
    with pytest.raises(UsageError, match="roc_auc"):
        heads.label_task(rng.choice(["a", "b", "c"], 300), "gini")
    with pytest.raises(UsageError, match="log_loss"):
        heads.label_task(rng.choice(["a", "b", "c"], 300), "brier")
    value = x[:, 0] * 10 + 50 + rng.normal(0, 1, 300)
    for metric in ("medae", "smape"):
        task = heads.label_task(value, metric)
        model = heads.fit_head(x, task, rows, seed=0)
        p = model.predict(x)
        expected = (sk.median_absolute_error(value, p) if metric == "medae"
                    else 100 * np.mean(np.abs(p - value) / ((np.abs(value) + np.abs(p)) / 2)))
        assert task.kind == "regression" and heads.score(model, x, task, rows) == pytest.approx(expected)
    with pytest.raises(UsageError, match="does not fit"):
        heads.label_task(label, "smape")


def test_heads_score_msle_correlations_explained_variance_f_beta_and_error_rate_like_sklearn() -> None:
    from scipy import stats
    from sklearn import metrics as sk

    from loom.adapters.builders.local import heads

    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 3))
    rows = np.ones(300, dtype=bool)
    value = np.maximum(0.0, x[:, 0] * 3 + 4 + rng.normal(0, 1, 300))
    references = {"msle": lambda y, p: sk.mean_squared_log_error(y, np.maximum(p, 0)),
                  "explained_variance": sk.explained_variance_score,
                  "pearson": lambda y, p: stats.pearsonr(y, p)[0], "spearman": lambda y, p: stats.spearmanr(y, p)[0]}
    for metric, reference in references.items():
        task = heads.label_task(value, metric)
        model = heads.fit_head(x, task, rows, seed=0)
        assert task.kind == "regression"
        assert heads.score(model, x, task, rows) == pytest.approx(reference(value, model.predict(x)), rel=1e-9)
    with pytest.raises(UsageError, match="above -1"):
        heads.label_task(value - 10, "msle")
    label = np.where(x[:, 0] + rng.normal(0, 1, 300) > 0.5, "yes", "no")
    for metric, reference in (("f2", lambda y, q: sk.fbeta_score(y, q, beta=2, pos_label="yes")),
                              ("f0_5", lambda y, q: sk.fbeta_score(y, q, beta=0.5, pos_label="yes")),
                              ("error_rate", sk.zero_one_loss)):
        task = heads.label_task(label, metric)
        model = heads.fit_head(x, task, rows, seed=0)
        pred = np.array(["no", "yes"])[model.predict_proba(x).argmax(axis=1)]  # classes sorted: "no", "yes"
        assert heads.score(model, x, task, rows) == pytest.approx(reference(label, pred))
    assert heads.lift("error_rate", 0.1, 0.2) == pytest.approx(0.1) and heads.lift("f2", 0.7, 0.6) == pytest.approx(0.1)
    for metric in ("f2", "f0_5"):
        with pytest.raises(UsageError, match="binary label.*use --metric f1"):
            heads.label_task(rng.choice(["a", "b", "c"], 300), metric)
    assert heads.label_task(rng.choice(["a", "b", "c"], 300), "error_rate").kind == "multiclass"
    with pytest.raises(UsageError, match="does not fit"):
        heads.label_task(label, "pearson")
