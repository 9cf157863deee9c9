"""Candidate part 2: turn every column kind into model input (nothing useful is dropped).

Two styles: `linear` (scaled numbers with missing-value indicators, one-hot categories, target-
encoded high-cardinality columns, TF-IDF text, date parts) for linear models and SVMs, and
`tree` (raw numbers, ordinal categories the booster treats as categorical, target encoding,
TF-IDF reduced by SVD, date parts) for forests and gradient boosting.
"""

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from loom.adapters.search.baseline_program.data import as_stamps

MISSING = "__missing__"


def as_text(column):
    """One text column (a Series or a one-column frame) as strings, blanks for missing."""
    series = column.iloc[:, 0] if isinstance(column, pd.DataFrame) else pd.Series(np.asarray(column).ravel())
    return series.fillna("").astype(str)


def datetime_parts(frame):
    """Each date column as year, month, day, weekday, hour, days since 1970 (a trend a linear model
    can extend), and the yearly, weekly and daily cycles as sin/cos pairs (seasons a linear model
    can fit: December sits next to January); NaN if unparsable."""
    out = {}
    for col in frame.columns:
        stamp = as_stamps(frame[col])  # wall-clock times, whatever zones they were written in
        out[f"{col}__year"] = stamp.dt.year
        out[f"{col}__month"] = stamp.dt.month
        out[f"{col}__day"] = stamp.dt.day
        out[f"{col}__weekday"] = stamp.dt.dayofweek
        out[f"{col}__hour"] = stamp.dt.hour
        out[f"{col}__days"] = (stamp - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        for cycle, phase in (("year", (stamp.dt.dayofyear - 1) / 365.25), ("week", stamp.dt.dayofweek / 7),
                             ("day", (stamp.dt.hour + stamp.dt.minute / 60) / 24)):
            out[f"{col}__{cycle}_sin"] = np.sin(2 * np.pi * phase)
            out[f"{col}__{cycle}_cos"] = np.cos(2 * np.pi * phase)
    return pd.DataFrame(out, index=frame.index).astype(float)


def as_strings(frame):
    return frame.astype("object").where(frame.notna(), MISSING).astype(str)


class SafeSVD(BaseEstimator, TransformerMixin):
    """TruncatedSVD that fits whatever vocabulary it gets (fewer terms than components is fine)."""

    def __init__(self, n_components=30, random_state=0):
        self.n_components = n_components
        self.random_state = random_state

    def fit(self, X, y=None):
        from sklearn.decomposition import TruncatedSVD

        k = min(self.n_components, X.shape[1] - 1)
        self.svd_ = TruncatedSVD(k, random_state=self.random_state).fit(X) if k >= 1 else None
        return self

    def transform(self, X):
        if self.svd_ is None:
            return np.zeros((X.shape[0], 1))
        return self.svd_.transform(X)


def _tfidf():
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=20000, sublinear_tf=True)


def _target_encoder(seed):
    from sklearn.preprocessing import TargetEncoder

    return make_pipeline(FunctionTransformer(as_strings), TargetEncoder(random_state=seed))


def preprocessor(kinds, style, seed, impute=False):
    """A ColumnTransformer for `style` ("linear" | "tree"); returns (transformer, categorical mask fn)."""
    by = {k: [c for c, v in kinds.items() if v == k] for k in ("numeric", "categorical", "high_card", "text", "datetime")}
    parts = []
    if style == "linear":
        if by["numeric"]:
            parts.append(("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                                             keep_empty_features=True), StandardScaler()), by["numeric"]))
        if by["categorical"]:
            parts.append(("cat", make_pipeline(FunctionTransformer(as_strings),
                                               OneHotEncoder(handle_unknown="ignore")), by["categorical"]))
        if by["high_card"]:
            parts.append(("high", make_pipeline(_target_encoder(seed), StandardScaler()), by["high_card"]))
        for i, col in enumerate(by["text"]):
            parts.append((f"text{i}", make_pipeline(FunctionTransformer(as_text), _tfidf()), [col]))
        if by["datetime"]:
            parts.append(("date", make_pipeline(FunctionTransformer(datetime_parts), SimpleImputer(
                strategy="median", keep_empty_features=True), StandardScaler()), by["datetime"]))
        return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.3), 0
    if by["numeric"]:
        num = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True) if impute else "passthrough"
        parts.append(("num", num, by["numeric"]))
    if by["categorical"]:
        parts.append(("cat", make_pipeline(FunctionTransformer(as_strings), OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1)), by["categorical"]))
    if by["high_card"]:
        parts.append(("high", _target_encoder(seed), by["high_card"]))
    for i, col in enumerate(by["text"]):
        parts.append((f"text{i}", make_pipeline(FunctionTransformer(as_text), _tfidf(), SafeSVD(30, seed)), [col]))
    if by["datetime"]:
        dates = make_pipeline(FunctionTransformer(datetime_parts), SimpleImputer(strategy="median", keep_empty_features=True)) \
            if impute else FunctionTransformer(datetime_parts)
        parts.append(("date", dates, by["datetime"]))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0), len(by["categorical"])


def categorical_positions(transformer, n_categorical):
    """Output columns of the ordinal-encoded categories (right after the numeric block)."""
    if not n_categorical:
        return []
    start = 0
    for name, trans, cols in transformer.transformers_:
        if name == "cat":
            return list(range(start, start + n_categorical))
        if name == "num":
            start += transformer.output_indices_[name].stop - transformer.output_indices_[name].start
    return []
