"""What `validate` and `deploy` score: a gradient-boosted baseline, or a solution script.

A predictor is `fit_predict(train, test) -> numbers`: the positive-class probability for a
binary target, class codes for multiclass, floats for regression (what deploy serves);
`fit_scores(train, test) -> Predicted` keeps every form a metric may score (labels, one
probability column per class, values: what validate grades). A solution script is run
honestly, the way the search ran it: a temp dir with ./input/{train,test,sample_submission}.csv,
the script inside the candidate sandbox (LOOM_SANDBOX, same limits and allowlisted environment as
a search candidate), then ./working/submission.csv is read back.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.application.evaluation import frames
from loom.domain.errors import ExecutionFailed
from loom.domain.metrics import canon_label

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


_PARAMS = {"max_iter": 200, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 20, "early_stopping": False}
#: Below this many rows one OpenMP thread fits as fast as several, and it never spin-waits: on a
#: busy 2-core machine HistGradientBoosting's spinning threads made a 2,400-row CV take 90 s, not 2 s.
SINGLE_THREAD_ROWS = 100_000


def _thread_limit(rows: int) -> Any:
    """One native thread for small tables (sklearn's threadpoolctl), the library default otherwise."""
    import contextlib

    if rows >= SINGLE_THREAD_ROWS:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


@dataclass(frozen=True)
class Predicted:
    """A prediction in the forms the catalog's metrics take (`loom.application.evaluation.metrics`).

    Regression: `values`. Classification: `labels`, class codes (a label outside the classes gets
    the code len(classes)), and `proba`, one column per class (a solution that wrote labels only
    gives 1 under its label, 0 elsewhere: what its file says about each class).
    """

    values: "np.ndarray | None" = None
    labels: "np.ndarray | None" = None
    proba: "np.ndarray | None" = None

    def as_input(self, kind: str) -> "np.ndarray":
        """What a metric of input `kind` ("value" / "label" / "probability") scores."""
        out = {"value": self.values, "label": self.labels, "probability": self.proba}[kind]
        if out is None:
            raise ExecutionFailed(f"a {'regression' if self.values is None else 'classification'} prediction "
                                  f"has no {kind}s to score")
        return out

    def rows(self, mask: "np.ndarray") -> "Predicted":
        """The prediction of the rows `mask` selects."""
        return Predicted(*(None if a is None else a[mask] for a in (self.values, self.labels, self.proba)))

    def legacy(self) -> "np.ndarray":
        """`fit_predict`'s form: values; the positive class's probability (binary); class codes."""
        if self.values is not None:
            return self.values
        assert self.proba is not None and self.labels is not None
        return self.proba[:, 1] if self.proba.shape[1] == 2 else self.labels

    @classmethod
    def of_proba(cls, proba: "np.ndarray") -> "Predicted":
        return cls(labels=proba.argmax(axis=1), proba=proba)

    @classmethod
    def of_labels(cls, codes: "np.ndarray", n_classes: int) -> "Predicted":
        import numpy as np

        codes = np.where((codes >= 0) & (codes < n_classes), codes, n_classes).astype(np.int64)
        proba = np.zeros((len(codes), n_classes))
        known = codes < n_classes
        proba[np.flatnonzero(known), codes[known]] = 1.0
        return cls(labels=codes, proba=proba)


@dataclass
class BaselinePredictor:
    """sklearn HistGradientBoosting on every non-target, non-id column (datetimes -> parts)."""

    target: str
    kind: str
    classes: list[Any]
    drop: list[str] = field(default_factory=list)
    seed: int = 0
    name: str = "baseline:hist_gradient_boosting"
    model: Any = None
    columns: list[str] = field(default_factory=list)

    def fit(self, train: "pd.DataFrame") -> "BaselinePredictor":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        X = frames.feature_matrix(train, [self.target, *self.drop])
        self.columns = list(X.columns)
        if self.kind == "classification":
            index = {c: i for i, c in enumerate(self.classes)}
            y = train[self.target].map(index).to_numpy()
            self.model = HistGradientBoostingClassifier(**_PARAMS, random_state=self.seed)
        else:
            y = train[self.target].astype(float).to_numpy()
            self.model = HistGradientBoostingRegressor(**_PARAMS, random_state=self.seed)
        with _thread_limit(len(X)):
            self.model.fit(X.to_numpy(), y)
        return self

    def predict(self, test: "pd.DataFrame") -> "np.ndarray":
        return self.scores(test).legacy()

    def scores(self, test: "pd.DataFrame") -> Predicted:
        X = frames.feature_matrix(test, [self.target, *self.drop]).reindex(columns=self.columns)
        with _thread_limit(len(X)):
            if self.kind == "classification":
                return Predicted.of_proba(self.model.predict_proba(X.to_numpy()))
            return Predicted(values=self.model.predict(X.to_numpy()))

    def fit_predict(self, train: "pd.DataFrame", test: "pd.DataFrame") -> "np.ndarray":
        return self.fit(train).predict(test)

    def fit_scores(self, train: "pd.DataFrame", test: "pd.DataFrame") -> Predicted:
        return self.fit(train).scores(test)


#: Id column names the search recognises (run_search.task_prep); otherwise it adds a synthetic `id`.
SEARCH_ID_NAMES = ("id", "row_id", "customer_id", "customerid", "index")


@dataclass
class ScriptPredictor:
    """A solution script (reads ./input, writes ./working/submission.csv), run in a temp dir."""

    code: str
    target: str
    kind: str
    classes: list[Any]
    id_columns: list[str] = field(default_factory=list)
    python: str = sys.executable
    timeout: float = 600.0
    name: str = "solution"
    probabilities: bool = False  # graded on probabilities: the sample asks for them, as the run's did
    positive: str | None = None  # a binary target's class whose probability a single column holds (the run's)
    _train: Any = None

    def fit(self, train: "pd.DataFrame") -> "ScriptPredictor":
        self._train = train  # a script fits and predicts in one go: keep its training table
        return self

    def predict(self, test: "pd.DataFrame") -> "np.ndarray":
        return self.fit_predict(self._train, test)

    def scores(self, test: "pd.DataFrame") -> Predicted:
        return self.fit_scores(self._train, test)

    def fit_predict(self, train: "pd.DataFrame", test: "pd.DataFrame") -> "np.ndarray":
        return self.fit_scores(train, test).legacy()

    def fit_scores(self, train: "pd.DataFrame", test: "pd.DataFrame") -> Predicted:
        import pandas as pd

        train = train.reset_index(drop=True)
        unlabeled = test.drop(columns=[self.target], errors="ignore").reset_index(drop=True)
        # the search's candidate contract: an id column in train/test/sample_submission
        # (a synthetic `id` when the data has none), submission = [id, target]
        key = next((c for c in unlabeled.columns if str(c).lower() in SEARCH_ID_NAMES), None)
        if key is None:
            key = "id"
            while key in train.columns:
                key = "_" + key
            train = train.assign(**{key: range(len(train))})[[key, *train.columns]]
            unlabeled = unlabeled.assign(**{key: range(len(train), len(train) + len(unlabeled))})[[key, *unlabeled.columns]]
        sample = self._sample(unlabeled[key])
        with tempfile.TemporaryDirectory(prefix="loom-solution-") as tmp:
            root = Path(tmp)
            (root / "input").mkdir()
            (root / "working").mkdir()
            train.to_csv(root / "input" / "train.csv", index=False)
            unlabeled.to_csv(root / "input" / "test.csv", index=False)
            sample.to_csv(root / "input" / "sample_submission.csv", index=False)
            (root / "solution.py").write_text(self.code)
            done = run_solution(root, "solution.py", self.python, self.timeout)
            if done.timed_out:
                raise ExecutionFailed(f"the solution timed out after {self.timeout:.0f}s")
            out = root / "working" / "submission.csv"
            if done.returncode != 0 or not out.exists():
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no submission.csv written"]
                raise ExecutionFailed(f"the solution failed: {tail[0][:200]}")
            sub = pd.read_csv(out)
        if len(sub) != len(unlabeled):
            raise ExecutionFailed(f"the solution wrote {len(sub)} rows for {len(unlabeled)} test rows")
        if key in sub.columns and sub[key].is_unique:  # align by id when the script kept it
            # as the run's grading matches keys: "03001" read back by pandas as 3001 is the same row
            written, asked = sub[key].map(canon_label), unlabeled[key].map(canon_label)
            if written.is_unique:
                sub = sub.set_index(written).reindex(asked).reset_index(drop=True)
        per_class = _class_columns([str(c) for c in sub.columns if c not in unlabeled.columns], self.classes) \
            if self.kind == "classification" and self.target not in sub.columns else None
        if per_class is not None:  # one probability column per class (what a log-loss search asks for)
            probs = sub[per_class].astype(float)
            if probs.isna().any().any():
                raise ExecutionFailed("the solution's submission misses predictions for some test ids")
            return Predicted.of_proba(probs.to_numpy())
        col = self.target if self.target in sub.columns else sub.columns[-1]
        if sub[col].isna().any():
            raise ExecutionFailed("the solution's submission misses predictions for some test ids")
        return self._as_predicted(sub[col])

    def _sample(self, ids: "pd.Series") -> "pd.DataFrame":
        """sample_submission.csv as the run's candidates saw it (`sealing._sample_submission`): one
        probability column per class for a probability metric over 3+ classes, 0.5 for two, else a
        label (or 0.0)."""
        import pandas as pd

        from loom.domain.metrics import order_classes

        labels = order_classes([canon_label(c) for c in self.classes]) if self.classes else []
        if self.probabilities and len(labels) > 2:
            return pd.DataFrame({ids.name: ids, **{c: 1 / len(labels) for c in labels}})
        value: Any = 0.5 if self.probabilities and labels else (self.classes[0] if self.classes else 0.0)
        return pd.DataFrame({ids.name: ids, self.target: value})

    def _positive_code(self) -> int:
        return positive_code(self.classes, self.positive)

    def _as_predicted(self, pred: "pd.Series") -> Predicted:
        import numpy as np
        import pandas as pd

        if self.kind == "regression":
            return Predicted(values=pred.astype(float).to_numpy())
        numeric = pd.api.types.is_numeric_dtype(pred)
        if len(self.classes) == 2 and numeric and pred.between(0, 1).all() and not set(pred.unique()) <= set(self.classes):
            p = pred.astype(float).to_numpy()  # a probability of the positive class
            proba = np.empty((len(p), 2))
            code = self._positive_code()
            proba[:, code], proba[:, 1 - code] = p, 1.0 - p
            return Predicted.of_proba(proba)
        index = {canon_label(c): i for i, c in enumerate(self.classes)}
        return Predicted.of_labels(np.array([index.get(canon_label(v), -1) for v in pred]), len(self.classes))


def positive_code(classes: list[Any], named: str | None) -> int:
    """The code of a binary target's class a lone probability is about: `named` (the run's, from its
    goal), else `positive_label`'s."""
    from loom.domain.metrics import positive_label

    canon = [canon_label(c) for c in classes]
    chosen = canon_label(named) if named is not None else None
    return canon.index(chosen) if chosen in canon else canon.index(positive_label(canon))


def _class_columns(columns: list[str], classes: list[Any]) -> list[str] | None:
    """The submission's column for each class, in the classes' order, when it has one per class named
    by the class after a common prefix ("Class A", "prob_yes", "0"), as the run's grading matches
    them (`grading.class_headers`); else None."""
    from loom.application.run_search.grading import class_headers

    named = class_headers(columns, [canon_label(c) for c in classes]) if len(classes) >= 2 else None
    if named is None:
        return None
    by_class = {label: column for column, label in named.items()}
    return [by_class[canon_label(c)] for c in classes]


def run_solution(root: Path, script: str, python: str, timeout: float) -> Any:
    """Run `script` in `root` (./input, ./working) inside the candidate sandbox LoomConfig selects."""
    from loom.adapters.sandbox import bootstrap, limits, process, select
    from loom.application.config import LoomConfig
    from loom.application.ports.sandbox import SandboxRequest, candidate_env, passthrough_names

    config = LoomConfig.load(env_file=None)
    lim = limits(config)
    request = SandboxRequest(
        argv=bootstrap.argv(python, script, lim.memory_bytes), workdir=root,
        env=candidate_env(root, cpus=lim.cpus, python=python, passthrough=passthrough_names(config.sandbox_env)),
        limits=lim, writable=("working",), python=python,
    )
    return process.run(select(config), request, timeout=timeout)
