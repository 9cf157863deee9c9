"""Metrics: the catalog Loom understands, and `--metric` sentences parsed into a MetricSpec.

Each metric has one canonical name, its natural direction, the kind of target it scores, what a
submission holds for it (labels, values or probabilities), its perfect value and a one-line
definition. A sentence is matched against phrase rules (most specific first); any qualifier the
matched metric does not account for ("per user", "at 5", "weighted by revenue", "of the log"
next to MAE, a second metric) is a UsageError naming it: Loom never computes a simpler metric
than the one asked for. A qualifier that changes what is measured (a transform of the target, a
curve, an average over the classes or groups, one class, a quantile, an aggregation of rows) is
read as the catalog metric it names exactly ("RMSE of log1p(y)" is RMSLE, "F1 averaged over
classes" is macro F1) or refused saying why (`loom.domain.metric_qualifiers`). The numbers themselves are computed in the application layer
(`loom.application.evaluation.metrics`, numpy); this module stays stdlib-only.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from loom.domain import metric_qualifiers as qualifiers
from loom.domain.errors import UsageError


@dataclass(frozen=True)
class MetricInfo:
    """One metric of the catalog."""

    name: str
    label: str
    maximize: bool
    kind: str  # "classification" | "regression"
    input: str  # "label" (a class per row) | "probability" (scores per row) | "value" (a number)
    perfect: float
    definition: str


CATALOG: dict[str, MetricInfo] = {m.name: m for m in (
    MetricInfo("roc_auc", "ROC-AUC", True, "classification", "probability", 1.0,
               "area under the ROC curve of the positive-class probability; multiclass: one-vs-rest, macro average"),
    MetricInfo("pr_auc", "PR-AUC", True, "classification", "probability", 1.0,
               "average precision (area under the precision-recall curve); multiclass: one-vs-rest, macro average"),
    MetricInfo("gini", "normalized Gini", True, "classification", "probability", 1.0,
               "normalized Gini coefficient of the positive-class probability: 2 x ROC-AUC - 1 (binary targets only)"),
    MetricInfo("log_loss", "log loss", False, "classification", "probability", 0.0,
               "mean negative log-likelihood of the true class (rows rescaled to sum 1, then clipped to [eps, 1-eps], eps = float64 machine epsilon)"),
    MetricInfo("brier", "Brier score", False, "classification", "probability", 0.0,
               "mean of (positive-class probability - truth)^2, truth 1 for the positive class, else 0 (binary targets only)"),
    MetricInfo("accuracy", "accuracy", True, "classification", "label", 1.0, "share of rows whose predicted class is right"),
    MetricInfo("error_rate", "error rate", False, "classification", "label", 0.0,
               "share of rows whose predicted class is wrong (1 - accuracy)"),
    MetricInfo("balanced_accuracy", "balanced accuracy", True, "classification", "label", 1.0,
               "mean recall over the true classes"),
    MetricInfo("f1", "F1", True, "classification", "label", 1.0, "F1 of the positive class (binary targets only)"),
    MetricInfo("f2", "F2", True, "classification", "label", 1.0,
               "F-beta of the positive class with beta = 2, recall favoured: 5 x precision x recall / "
               "(4 x precision + recall) (binary targets only)"),
    MetricInfo("f0_5", "F0.5", True, "classification", "label", 1.0,
               "F-beta of the positive class with beta = 0.5, precision favoured: 1.25 x precision x recall / "
               "(0.25 x precision + recall) (binary targets only)"),
    MetricInfo("f1_macro", "F1 macro", True, "classification", "label", 1.0, "unweighted mean of per-class F1"),
    MetricInfo("f1_micro", "F1 micro", True, "classification", "label", 1.0, "F1 of the pooled counts over all classes"),
    MetricInfo("f1_weighted", "F1 weighted", True, "classification", "label", 1.0,
               "mean of per-class F1 weighted by each class's true count"),
    MetricInfo("mcc", "MCC", True, "classification", "label", 1.0, "Matthews correlation coefficient (multiclass: Gorodkin's R_K)"),
    MetricInfo("qwk", "quadratic weighted kappa", True, "classification", "label", 1.0,
               "Cohen's kappa with quadratic weights over the ordered classes"),
    MetricInfo("rmse", "RMSE", False, "regression", "value", 0.0, "root mean squared error"),
    MetricInfo("mse", "MSE", False, "regression", "value", 0.0, "mean squared error"),
    MetricInfo("mae", "MAE", False, "regression", "value", 0.0, "mean absolute error"),
    MetricInfo("medae", "MedAE", False, "regression", "value", 0.0, "median absolute error: the median of |truth - prediction|"),
    MetricInfo("rmsle", "RMSLE", False, "regression", "value", 0.0,
               "root mean squared error between log(1 + prediction) and log(1 + truth)"),
    MetricInfo("msle", "MSLE", False, "regression", "value", 0.0,
               "mean squared error between log(1 + prediction) and log(1 + truth) (RMSLE squared)"),
    MetricInfo("mape", "MAPE", False, "regression", "value", 0.0,
               "mean of |truth - prediction| / |truth| (a fraction, not a percentage)"),
    MetricInfo("smape", "SMAPE", False, "regression", "value", 0.0,
               "100 x mean of |truth - prediction| / ((|truth| + |prediction|) / 2), a row where both are 0 "
               "counting 0 (a percentage, 0 to 200)"),
    MetricInfo("r2", "R²", True, "regression", "value", 1.0, "coefficient of determination"),
    MetricInfo("explained_variance", "explained variance", True, "regression", "value", 1.0,
               "1 - Var(truth - prediction) / Var(truth) (scikit-learn's explained_variance_score: unlike R², "
               "a constant offset of the predictions costs nothing)"),
    MetricInfo("pearson", "Pearson r", True, "regression", "value", 1.0,
               "Pearson correlation of predictions and truth (0 when either is constant)"),
    MetricInfo("spearman", "Spearman rho", True, "regression", "value", 1.0,
               "Spearman rank correlation: Pearson correlation of the average ranks of predictions and truth "
               "(0 when either is constant)"),
)}
KNOWN = tuple(CATALOG)
REGRESSION = frozenset(n for n, m in CATALOG.items() if m.kind == "regression")


@dataclass(frozen=True)
class MetricSpec:
    """A metric and its direction, fixed once per run."""

    name: str  # a CATALOG key
    maximize: bool
    sentence: str = ""  # what the user wrote

    @property
    def info(self) -> MetricInfo:
        return CATALOG[self.name]

    @property
    def label(self) -> str:
        return CATALOG[self.name].label

    @property
    def direction(self) -> str:
        return "maximize" if self.maximize else "minimize"

    @property
    def needs_probabilities(self) -> bool:
        return CATALOG[self.name].input == "probability"

    @property
    def task_type(self) -> str:
        return CATALOG[self.name].kind

    @property
    def perfect(self) -> float:
        return CATALOG[self.name].perfect

    @property
    def bounded(self) -> bool:
        """A score bounded by a perfect 1 (accuracy, ROC-AUC, F1, ...) or a share of rows (error rate): its
        interval is judged on the 0-1 scale and is never narrower than a proportion's (Wilson)."""
        return (self.maximize and self.perfect == 1.0) or self.name == "error_rate"

    def better(self, a: float, b: float) -> bool:
        """True when `a` is strictly better than `b`."""
        return a > b if self.maximize else a < b

    def is_perfect(self, value: float | None) -> bool:
        """True when `value` is the metric's perfect score (the usual sign of a leak)."""
        return value is not None and math.isfinite(value) and abs(value - self.perfect) <= 1e-9


# ---- phrases -----------------------------------------------------------------------------------
# name -> alternatives; an alternative is a tuple of patterns that must ALL occur (anywhere).
# The first rule (in this order) with a matching alternative wins; the words it matched are
# consumed, and whatever qualifier is left over is refused.
_W = r"(?<![a-z0-9])"  # word start
_E = r"(?![a-z0-9])"  # word end
_RMSE = r"(rmse|root mean squared? error)"
_MSE = r"(mse|mean squared? error)"
_LOG = r"(log|logs|logarithm|logarithms|logarithmic|log1p)"  # log1p(y): RMSE of it is RMSLE exactly
_FNAME = r"(f ?(beta|β)|f)( score| measure)?"  # "F-beta score", "F score": a beta must be said next to it
_BETA = r"(beta|β) ?=? ?"
_RULES: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    ("rmsle", (("rmsle",), ("root mean squared? log(arithmic)? error",), (_RMSE, _LOG))),
    ("msle", (("msle",), ("mean squared? log(arithmic)? error",), (_MSE, _LOG))),
    ("qwk", (("qwk",), ("quadratic(ally)? weighted (cohen s )?kappa",), ("cohen s kappa", "quadratic(ally)? weighted"))),
    ("smape", (("smape",), ("symmetric mean absolute percent(age)? error",), ("symmetric mape",))),
    ("mape", (("mape",), ("mean absolute percent(age)? error",))),
    ("medae", (("medae",), ("mdae",), ("median absolute error",))),
    ("gini", (("gini( coefficient)?", "normali[sz]ed"), ("gini( coefficient)?",))),
    ("brier", (("brier( score)?( loss)?",),)),
    ("balanced_accuracy", (("balanced accuracy",),)),
    ("error_rate", (("(classification |misclassification )?error rate",), ("misclassification( rate| error)?",),
                    ("classification error",), ("zero one loss",), ("0 1 loss",), ("(?<!top )1 accuracy",),
                    ("one minus accuracy",))),
    ("pearson", (("pearson( product moment)?( s)?( correlation)?( coefficient)?( r)?",),)),
    ("spearman", (("spearman( s)?( rank)?( order)?( correlation)?( coefficient)?( rho| ρ| r)?",),)),
    ("explained_variance", (("explained variance( regression)?( score)?",),)),
    ("pr_auc", (("pr auc",), ("auc pr",), ("auprc",), ("average precision",), ("precision recall auc",),
                ("area under (the )?precision recall curve",), ("ap",),
                (r"pr|precision recall", r"auc|area under( the)?"))),  # "AUC of the PR curve", "AUC on PR"
    ("f1_macro", (("macro (averaged? )?f1( score)?",), ("f1( score)?", "macro( average| averaged)?"))),
    ("f1_micro", (("micro (averaged? )?f1( score)?",), ("f1( score)?", "micro( average| averaged)?"))),
    ("f1_weighted", (("weighted (averaged? )?f1( score)?",), ("f1( score)?", "weighted( average| averaged)?"))),
    ("f2", ((r"f ?2(\.0+)?( score| measure)?",), (_FNAME, _BETA + r"2(\.0+)?"))),
    ("f0_5", ((r"f ?0?\.50*( score| measure)?",), (_FNAME, _BETA + r"0?\.50*"))),
    ("f1", (("f1( score)?",), ("f score",), ("f measure",), (_FNAME, _BETA + r"1(\.0+)?"))),
    ("mcc", (("mcc",), ("matthews( correlation)?( coefficient)?",))),
    ("roc_auc", (("roc auc( score)?",), ("auroc",), ("auc roc",), ("area under (the )?roc( curve)?",),
                 ("area under (the )?receiver operating characteristic( curve)?",), ("auc",), ("roc",))),
    ("log_loss", (("log loss",), ("logloss",), ("logarithmic loss",), ("(binary |categorical )?cross entropy( loss)?",),
                  ("negative log likelihood",))),
    ("accuracy", (("(classification )?accuracy",), ("acc",))),
    ("rmse", ((_RMSE,), ("root mse",))),
    ("mse", (("mse",), ("mean squared? error",))),
    ("mae", (("mae",), ("mean absolute error",))),
    ("r2", (("r2",), ("r squared",), ("coefficient of determination",))),
)
#: Qualifiers a rule may carry along (consumed only when its metric is the one matched).
_ALLOWED = {
    "roc_auc": (r"one vs rest", r"ovr", r"macro( average| averaged)?", r"multi ?class",
                r"(roc|receiver operating characteristic) curve"),
    "pr_auc": (r"one vs rest", r"ovr", r"macro( average| averaged)?", r"multi ?class", r"(pr|precision recall) curve"),
    "log_loss": (r"multi ?class",),
    "smape": (r"percent(age)?", r"%"),  # SMAPE is a percentage: saying so changes nothing
}
_DIRECTION = r"(maximi[sz]e[sd]?|maximum|max|higher|highest|increase|minimi[sz]e[sd]?|minimum|min|lower|lowest|decrease|reduce|is better|better)"
_MAX = re.compile(_W + r"(maximi[sz]e[sd]?|maximum|max|higher|highest|increase)" + _E)
_MIN = re.compile(_W + r"(minimi[sz]e[sd]?|minimum|min|lower|lowest|decrease|reduce)" + _E)
#: Words and patterns that change what a metric computes; left over after matching, they are refused.
_QUALIFIERS = (
    r"per \w+", r"by \w+", r"grouped", r"groups?", r"weight(s|ed|ing)?", r"@", r"top \w+", r"at k", r"threshold\w*",
    r"cut ?off", r"normali[sz]ed", r"median", r"symmetric", r"percent(age)?", r"%", _LOG,
    r"squared?", r"root", r"sqrt", r"absolute", r"relative", r"adjusted", r"scaled", r"exp(onential)?", r"macro",
    r"micro", r"samples", r"ovo", r"one vs one", r"ovr", r"one vs rest", r"quadratic(ally)?", r"linear(ly)?", r"cohen",
    r"kappa", r"precision", r"recall", r"sensitivity", r"specificity", r"tpr", r"fpr", r"partial", r"pinball",
    r"quantile", r"huber", r"poisson", r"tweedie", r"gamma", r"deviance", r"clipped", r"capped", r"excluding",
    r"except", r"only", r"cumulative", r"lift", r"ndcg", r"map", r"mrr", r"iou", r"dice", r"jaccard", r"hamming",
    r"impurity", r"calibrat\w*", r"\d+(\.\d+)?",
)
_QUALIFIER = re.compile(_W + "(" + "|".join(_QUALIFIERS) + ")" + _E)


def _normalize(text: str) -> str:
    text = text.lower().replace("²", "2").replace("r^2", "r2").replace("’", "'")
    # log(1 + y), log(y + 1), ln(1 + y): log1p(y), the transform RMSLE and MSLE are defined on
    text = re.sub(r"(?<![a-z0-9])(log|ln)\s*\(\s*1\s*\+\s*([^()]+?)\s*\)", r"log1p(\2)", text)
    text = re.sub(r"(?<![a-z0-9])(log|ln)\s*\(\s*([^()]+?)\s*\+\s*1\s*\)", r"log1p(\2)", text)
    text = re.sub(r"[_\-/'\"(),;:!?]+", " ", text)
    text = re.sub(r"\.(?![0-9])", " ", text)  # keep decimal points ("0.5", ".5")
    return " " + re.sub(r"\s+", " ", text).strip() + " "


_find = qualifiers.find
_blank = qualifiers.blank


def _match(text: str) -> tuple[str, list[tuple[int, int]]] | None:
    """The first rule matching `text` and the spans it consumes: every way the rule names its metric
    ("Matthews correlation coefficient (MCC)" names it twice), and the qualifiers it allows."""
    for name, alternatives in _RULES:
        found = [[_find(p, text) for p in patterns] for patterns in alternatives]
        if any(all(spans) for spans in found):
            consumed = [s for spans in found if all(spans) for group in spans for s in group]
            for extra in _ALLOWED.get(name, ()):
                consumed += _find(extra, text)
            return name, consumed
    return None


def _leftover_qualifiers(text: str) -> list[str]:
    """Qualifiers (and second metrics) left in `text` once the metric and direction are removed."""
    rest = _blank(text, _find(_DIRECTION, text))
    found = [m.group(0).strip() for m in _QUALIFIER.finditer(rest)]
    second = _match(rest)
    if second is not None:
        found.insert(0, CATALOG[second[0]].label)
    return list(dict.fromkeys(found))


def _by_name(metric_name: str) -> str:
    key = _normalize(metric_name).strip()
    if key.replace(" ", "_") in CATALOG:
        return key.replace(" ", "_")
    found = _match(" " + key + " ")
    if found is not None and not _leftover_qualifiers(_blank(" " + key + " ", found[1])):
        return found[0]
    raise UsageError(f"unknown --metric-name '{metric_name}'; known names: {', '.join(KNOWN)}")


#: The betas an F-beta sentence may name -> the catalog's metric.
_BETAS = {1.0: "f1", 2.0: "f2", 0.5: "f0_5"}
_BETA_SAID = (r"f ?(?P<f>\d*\.?\d+)( score| measure)?", _BETA + r"(?P<b>\d*\.?\d+)")
_ONE_SIDED = r"(recall|sensitivity|true positive rate|tpr|hit rate|precision|positive predictive value|ppv)"


def _check_beta(text: str) -> None:
    """An F-beta whose beta Loom does not compute ("F3", "F-beta with beta 0.25") is exit 2 naming it."""
    named_f = bool(_find(_FNAME, text))
    for pattern in _BETA_SAID:
        for m in re.finditer(_W + "(" + pattern + ")" + _E, text):
            groups = m.groupdict()
            said = groups.get("f") or groups.get("b") or ""
            if "f" not in groups and not named_f:
                continue  # "beta 3" with no F-score named: left to the phrase rules
            if float(said) not in _BETAS:
                raise UsageError(f"F-beta with beta {said} is not a metric Loom computes: it computes F1, "
                                 f"F2 (recall favoured) and F0.5 (precision favoured), e.g. --metric \"Maximize F2\"")


def _unknown(sentence: str, text: str) -> UsageError:
    """Why a sentence names no known metric, in one line: precision or recall alone, or which correlation."""
    if _find(r"f ?(beta|β)( score| measure)?", text):
        return UsageError(f"--metric '{sentence}': say which beta: \"Maximize F1\", \"Maximize F2\" (favours recall) or "
                          f"\"Maximize F0.5\" (favours precision)")
    if _find(_ONE_SIDED, text) and _find(r"macro|mean|average|averaged|unweighted|balanced", text):
        return UsageError(f"--metric '{sentence}': the mean recall over the true classes is balanced accuracy: "
                          f"write \"Maximize balanced accuracy\" (or --metric-name balanced_accuracy)")
    if _find(_ONE_SIDED, text):
        return UsageError(
            f"--metric '{sentence}': recall alone is maximized by predicting every row positive, and precision by "
            f"predicting almost none, so Loom does not optimize either alone: write \"Maximize F2\" (favours "
            f"recall), \"Maximize F0.5\" (favours precision) or \"Maximize F1\"")
    if _find(r"(rank )?correlations?( coefficient)?|corr", text):
        return UsageError(f"--metric '{sentence}': which correlation? write \"Maximize Pearson correlation\" or "
                          f"\"Maximize Spearman correlation\" (or --metric-name pearson|spearman)")
    return UsageError(f"unknown metric in '{sentence}'; name one of {', '.join(KNOWN)} "
                      f"(e.g. \"Maximize ROC-AUC\") or pass --metric-name NAME")


def parse_metric(sentence: str | None, metric_name: str | None = None) -> MetricSpec:
    """`"Maximize ROC-AUC"` -> MetricSpec("roc_auc", True).

    `metric_name` (a catalog name such as `rmsle` or `f1_macro`) says exactly which metric to
    compute; the sentence then only has to agree on the direction. Without it, a sentence naming
    no known metric, or carrying a qualifier the matched metric does not account for, raises
    UsageError (exit 2) naming what Loom did not understand.
    """
    sentence = (sentence or "").strip()
    if not sentence and not metric_name:
        raise UsageError('--metric is required, e.g. --metric "Maximize ROC-AUC"')
    text = _normalize(sentence)
    if metric_name:
        name = _by_name(metric_name)
    else:
        _check_beta(text)
        found = _match(text)
        if found is None:
            raise _unknown(sentence, text)
        name, spans = found
        rest = _blank(_blank(text, spans), _find(_DIRECTION, text))
        name, used, refused = qualifiers.read(name, rest)
        words, why = qualifiers.explain(refused)
        generic = _leftover_qualifiers(_blank(rest, used + [span for _, _, span in refused]))
        if words or generic:
            what = ", ".join(f"'{w}'" for w in words + generic)
            raise UsageError(
                f"--metric '{sentence}' reads as {CATALOG[name].label} but Loom does not understand {what} in it"
                f"{': ' + why if why else ''}; "
                f"Loom never computes a simpler metric than the one asked for: pass --metric-name NAME "
                f"(one of {', '.join(KNOWN)}) to say exactly which metric to compute"
            )
    info = CATALOG[name]
    said_max, said_min = bool(_MAX.search(text)), bool(_MIN.search(text))
    if (said_max and not said_min and not info.maximize) or (said_min and not said_max and info.maximize):
        verb = "Maximize" if info.maximize else "Minimize"
        raise UsageError(
            f"{info.label} is {'higher' if info.maximize else 'lower'}-is-better; "
            f"write --metric \"{verb} {info.label}\""
        )
    return MetricSpec(name=name, maximize=info.maximize, sentence=sentence or name)


def describe_known() -> str:
    """`name (label)` for every metric: what `loom run --help` lists."""
    return ", ".join(KNOWN)


# ---- labels ------------------------------------------------------------------------------------
_POSITIVE = ("1", "true", "yes", "y", "positive", "pos")


def canon_label(value: object) -> str:
    """"1.0" and "1" are the same class label; " yes" is "yes"; "TRUE", "true" and "True" are "True"
    (pandas reads all three as the boolean True, so a candidate writes them back as "True")."""
    text = str(value).strip()
    if text.lower() in ("true", "false"):
        return text.capitalize()
    try:
        num = float(text)
    except (TypeError, ValueError):
        return text
    if math.isfinite(num) and num == int(num):
        return str(int(num))
    return text


def positive_label(classes: tuple[str, ...] | list[str]) -> str:
    """The positive class of a binary target: 1 / true / yes / positive, else the last class
    (in `order_classes` order)."""
    for cand in _POSITIVE:
        for c in classes:
            if c.lower() == cand:
                return c
    return order_classes(list(classes))[-1]


def order_classes(labels: set[str] | list[str]) -> list[str]:
    """Canonical labels in order: numerically when every label is a number, else as text."""
    uniq = sorted({canon_label(v) for v in labels})
    try:
        return sorted(uniq, key=float)
    except ValueError:
        return uniq
