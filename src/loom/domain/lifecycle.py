"""Lifecycle results and the rules that turn measurements into verdicts (eda .. deploy).

Pure value types: the Metaflow adapter measures, these types carry the numbers, and the
verdict rules below decide PASS / REVIEW / FAIL, HEALTHY / ATTENTION and ALLOW / REFUSE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Verdict(str, Enum):
    PASS = "PASS"
    REVIEW = "REVIEW"
    FAIL = "FAIL"
    HEALTHY = "HEALTHY"
    ATTENTION = "ATTENTION"
    ALLOW = "ALLOW"
    REFUSE = "REFUSE"

    def __str__(self) -> str:
        return self.value


#: Leakage kinds an EDA flag can carry.
LEAK_KINDS = (
    "near_perfect_predictor", "id_like", "target_derived", "target_duplicate", "time_leakage", "constant", "time_split",
)

#: Leak kinds whose column `features` drops (an id-like column cannot generalise; a time_split
#: flag is about the split, not the column, so the time column stays for time-ordered CV).
#: A near_perfect_predictor is dropped only when it is all but perfect (`CERTAIN_LEAK`).
DROP_KINDS = frozenset(LEAK_KINDS) - {"time_split"}

#: A column that alone reaches this ROC-AUC / accuracy / R² is taken for a leak and dropped by
#: `features`. Between the flag's 0.98 and this it may be an honest strong feature (a price from
#: its size, R² 0.98): kept, named in `features`' output, and left to `validate` to review.
CERTAIN_LEAK = 0.995


#: Leak kinds the leak screen of `loom run` acts on (`--leaks drop` removes the column,
#: `--leaks fail` stops the run); `constant` and `time_split` are notes, never acted on.
SCREEN_KINDS = frozenset({"near_perfect_predictor", "target_duplicate", "target_derived", "id_like", "time_leakage"})

#: What to do about each kind of flag (shown with the evidence).
LEAK_FIXES = {
    "target_duplicate": "drop it: it is the target under another name (--leaks drop)",
    "target_derived": "drop it unless it is known before the outcome: it is computed from the target (--leaks drop)",
    "near_perfect_predictor": "check when it is recorded; if only after the outcome, drop it (--leaks drop)",
    "id_like": "drop it or declare it the id: a row key only memorises rows (--leaks drop)",
    "time_leakage": "drop it: it is recorded after the main time column (--leaks drop)",
    "constant": "drop it: it carries no information",
    "time_split": "split by time: Loom seals the latest rows when it sees a time column (--time-column)",
}


@dataclass(frozen=True)
class LeakageFlag:
    """One suspicion about one column: {column, kind, detail (the evidence)} and the fix."""

    column: str
    kind: str
    detail: str
    score: float | None = None  # near_perfect_predictor: what the column alone reaches

    @property
    def fix(self) -> str:
        return LEAK_FIXES.get(self.kind, "review this column")

    @property
    def certain(self) -> bool:
        """Whether `features` drops the column: a suspected near-perfect predictor short of
        CERTAIN_LEAK is kept (flags of older runs carry no score: dropped, as then)."""
        return self.kind != "near_perfect_predictor" or self.score is None or self.score >= CERTAIN_LEAK

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"column": self.column, "kind": self.kind, "detail": self.detail, "fix": self.fix}
        if self.score is not None:
            out["score"] = self.score
        return out


@dataclass(frozen=True)
class EdaResult:
    pathspec: str
    dataset: str
    rows: int
    columns: int
    target: str
    task_type: str
    dtypes: dict[str, str]
    missing: dict[str, float]
    target_summary: dict[str, Any]
    leakage: tuple[LeakageFlag, ...]
    top_correlations: tuple[tuple[str, float], ...] = ()
    card: str | None = None

    @property
    def verdict(self) -> Verdict:
        return Verdict.REVIEW if self.leakage else Verdict.PASS


@dataclass(frozen=True)
class FeaturesResult:
    pathspec: str
    dataset: str
    columns_before: int
    columns_after: int
    dropped: tuple[LeakageFlag, ...]
    added: tuple[str, ...]
    fingerprint: str
    lineage: dict[str, Any]
    recipe: str = "minimal"
    kept: tuple[LeakageFlag, ...] = ()  # flagged but not dropped (a strong predictor short of CERTAIN_LEAK)
    card: str | None = None


@dataclass(frozen=True)
class ValidateResult:
    pathspec: str
    dataset: str
    solution: str  # "baseline:<model>" or the solution reference
    target: str
    task_type: str
    metric: str
    greater_is_better: bool
    cv_scores: tuple[float, ...]
    holdout_score: float
    verdict: Verdict
    reasons: tuple[str, ...]
    brier: float | None = None
    slices: tuple[dict[str, Any], ...] = ()
    leakage: tuple[LeakageFlag, ...] = ()
    split: str = "stratified"
    card: str | None = None

    @property
    def cv_mean(self) -> float:
        return round(sum(self.cv_scores) / len(self.cv_scores), 6) if self.cv_scores else float("nan")


@dataclass(frozen=True)
class ReportResult:
    pathspec: str
    runs: tuple[str, ...]
    best: dict[str, Any] | None
    leaderboard: tuple[dict[str, Any], ...]
    spread: dict[str, float]
    verdicts: dict[str, str]
    html_path: str
    markdown_path: str
    card: str | None = None


@dataclass(frozen=True)
class DriftColumn:
    column: str
    kind: str  # numeric | categorical
    psi: float
    ks: float | None
    drifted: bool


@dataclass(frozen=True)
class OpsResult:
    pathspec: str
    verdict: Verdict
    reasons: tuple[str, ...]
    health: dict[str, Any] | None = None
    drift: tuple[DriftColumn, ...] = ()
    new_columns: tuple[str, ...] = ()
    missing_columns: tuple[str, ...] = ()
    card: str | None = None


@dataclass(frozen=True)
class DeployResult:
    status: str  # PLANNED | OK (applied)
    gate: Verdict
    reasons: tuple[str, ...]
    manifest: dict[str, Any]
    manifest_path: str
    score_pathspec: str | None = None
    rows_scored: int | None = None
    serve: bool = False


@dataclass(frozen=True)
class StageResult:
    stage: str
    status: str  # OK | FAILED | SKIPPED
    pathspec: str | None = None
    verdict: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class PipelineResult:
    status: str  # OK | FAILED | INTERRUPTED (stopped between stages)
    stages: tuple[StageResult, ...]
    failed_stage: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)


# ---- verdict rules ------------------------------------------------------------------------

#: A score this close to perfect on real data is a leak until proven otherwise.
SUSPICIOUS_SCORE = 0.995
#: The largest acceptable spread of the metric across slices of a --sensitive column.
SLICE_GAP = 0.15


def validate_verdict(
    *,
    metric: str,
    greater_is_better: bool,
    cv_scores: list[float],
    holdout: float,
    baseline: float | None,
    leakage: list[LeakageFlag],
    slice_gap: float | None = None,
    near_perfect: bool = False,
) -> tuple[Verdict, list[str]]:
    """PASS / REVIEW / FAIL with the reasons (every rule that fired, in order)."""
    fail: list[str] = []
    review: list[str] = []
    if not cv_scores or any(s != s for s in cv_scores) or holdout != holdout:
        fail.append("the solution produced no usable predictions")
        return Verdict.FAIL, fail
    mean = sum(cv_scores) / len(cv_scores)
    spread = max(cv_scores) - min(cv_scores)
    if near_perfect:
        fail.append(f"holdout {metric} {holdout:.4f} is near-perfect: likely leakage")
    if leakage:
        cols = ", ".join(sorted({f.column for f in leakage}))
        review.append(f"leakage flags on: {cols}")
    if baseline is not None:
        worse = holdout <= baseline if greater_is_better else holdout >= baseline
        if worse:
            fail.append(f"holdout {metric} {holdout:.4f} is no better than the trivial baseline {baseline:.4f}")
    gap = abs(holdout - mean)
    scale = max(abs(mean), 1e-9)
    if gap / scale > 0.15:
        review.append(f"holdout {holdout:.4f} differs from CV mean {mean:.4f} by more than 15%")
    if spread / scale > 0.25:
        review.append(f"CV folds disagree (spread {spread:.4f})")
    if slice_gap is not None and slice_gap > SLICE_GAP:
        review.append(f"per-slice {metric} gap {slice_gap:.3f} exceeds {SLICE_GAP:.2f}")
    if fail:
        return Verdict.FAIL, fail + review
    if review:
        return Verdict.REVIEW, review
    return Verdict.PASS, [f"holdout {metric} {holdout:.4f}, CV {mean:.4f} ± {spread / 2:.4f}; no leakage flags"]


#: PSI above this is a material shift (the usual rule of thumb: <0.1 none, 0.1-0.25 some).
PSI_ATTENTION = 0.2
KS_ATTENTION = 0.2


def drift_verdict(
    drift: list[DriftColumn], new_columns: list[str], missing_columns: list[str]
) -> tuple[Verdict, list[str]]:
    reasons = [f"{d.column}: PSI {d.psi:.3f}" + (f", KS {d.ks:.3f}" if d.ks is not None else "") for d in drift if d.drifted]
    if new_columns:
        reasons.append(f"new columns: {', '.join(new_columns)}")
    if missing_columns:
        reasons.append(f"missing columns: {', '.join(missing_columns)}")
    if reasons:
        return Verdict.ATTENTION, reasons
    return Verdict.HEALTHY, [f"no drift across {len(drift)} columns"]


def health_verdict(total: int, succeeded: int, failed: int, last_failed: bool) -> tuple[Verdict, list[str]]:
    if total == 0:
        return Verdict.ATTENTION, ["no runs found"]
    rate = succeeded / total
    reasons = []
    if rate < 0.8:
        reasons.append(f"success rate {rate:.0%} is below 80% ({failed} of {total} failed or never finished)")
    if last_failed:
        reasons.append("the latest run failed")
    if reasons:
        return Verdict.ATTENTION, reasons
    return Verdict.HEALTHY, [f"{succeeded}/{total} runs succeeded"]


def deploy_gate(
    *, validate_verdict: str | None, holdout: float | None, floor: float | None, greater_is_better: bool = True
) -> tuple[Verdict, list[str]]:
    """ALLOW only when the upstream validate verdict is PASS (and the holdout clears the floor)."""
    reasons: list[str] = []
    if validate_verdict is None:
        reasons.append("no validate run found for this solution; run `loom validate --solution ...` first")
    elif validate_verdict != Verdict.PASS.value:
        reasons.append(f"upstream validate verdict is {validate_verdict}, not PASS")
    if floor is not None and holdout is not None:
        below = holdout < floor if greater_is_better else holdout > floor
        if below:
            reasons.append(f"holdout {holdout:.4f} does not clear the floor {floor:.4f}")
    if reasons:
        return Verdict.REFUSE, reasons
    return Verdict.ALLOW, [f"validate PASS, holdout {holdout:.4f}" if holdout is not None else "validate PASS"]


@dataclass(frozen=True)
class DeployRecord:
    """What the deploy gate looks at: the upstream validate run of the solution to deploy."""

    validate_run: str | None
    verdict: str | None
    holdout_score: float | None
    greater_is_better: bool
    metric: str | None
    solution: str
    dataset: str | None
    target: str | None
    task_type: str | None
    id_columns: tuple[str, ...] = ()
    solution_code: str | None = None
    lineage: tuple[str, ...] = ()
    positive: str | None = None  # a binary target's class the validated solution's probability is about
