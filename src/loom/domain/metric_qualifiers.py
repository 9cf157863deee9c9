"""Qualifiers that change what a metric measures: read as a catalog metric exactly, or refused with why.

Words next to a metric in a `--metric` sentence can change what is measured: a transform of the
values ("of ln(price)", "of log10 y"), a curve ("AUC of the DET curve"), an average over the classes
("F1 averaged over classes") or over something else ("averaged over months"), one class ("F1 for
class 'no'"), a quantile ("at the 90th percentile"), an aggregation of rows ("of daily totals",
"CV(RMSE)") or a comparison with a reference ("skill score"). `read` turns each into either the
catalog metric it names exactly (F1 averaged over the classes is macro F1, accuracy averaged over
the classes is balanced accuracy, ROC-AUC averaged over the classes is Loom's one-vs-rest ROC-AUC)
or a reason to refuse: Loom never scores the plain row-level metric in place of the one asked for.
The positive class of a binary target is the goal's to name (`domain.positive.choose`), never the
metric sentence's. Stdlib only; `domain.metrics.parse_metric` calls it.
"""

from __future__ import annotations

import re

Span = tuple[int, int]

_W = r"(?<![a-z0-9])"  # word start
_E = r"(?![a-z0-9])"  # word end

#: A class average -> the catalog metric it is, exactly (the others are refused).
CLASS_AVERAGE = {"f1": "f1_macro", "f1_macro": "f1_macro", "f1_weighted": "f1_weighted",
                 "accuracy": "balanced_accuracy", "balanced_accuracy": "balanced_accuracy",
                 "roc_auc": "roc_auc"}  # binary: the negative class's AUC equals the positive's
#: Metrics defined over every class already: "over all classes" next to them changes nothing.
ALL_CLASSES = frozenset({"log_loss", "accuracy", "error_rate", "balanced_accuracy", "f1_macro", "f1_micro",
                         "f1_weighted", "mcc", "qwk", "roc_auc"})
#: Metrics that are a mean over the rows already: "mean" next to them changes nothing ("mean log loss").
MEANS = frozenset({"accuracy", "error_rate", "balanced_accuracy", "f1_macro", "f1_weighted", "log_loss", "brier",
                   "mse", "mae", "msle", "mape", "smape"})
#: Metrics that score the positive class of a binary target (the goal names it).
POSITIVE_CLASS = frozenset({"roc_auc", "pr_auc", "gini", "brier", "f1", "f2", "f0_5"})

_AVERAGE = r"(mean|means|average|averaged|averaging|avg|macro( average| averaged)?|unweighted|equally weighted)"
_OVER = r"(over|across|among|between|for|of|on|in|within)"
_EVERY = r"(the |all |all the |each |every )"
_ALL_CLASSES = _OVER + " " + _EVERY + r"?(\w+ )?classes|classes"
_PER_CLASS = r"(" + _OVER + r" )?(each|every) class|per class|class ?wise|(mean|average|avg|averaged) class"
_ONE_CLASS = (r"(" + _OVER + r" (the |a |one |only )?)?((\w+) )?(?<!multi )(?<!two )(?<!binary )class"
              r"( (?!is |was |only )\w+)?")
_POSITIVE = r"(" + _OVER + r" )?the positive class"

_KINDS: tuple[tuple[str, str], ...] = (
    (r"skill( score)?|improvement over \w+",
     "compares the metric with a reference forecast's (a skill score), which Loom does not compute"),
    (r"curves?",
     "names a curve Loom has no area for: it computes the area under the ROC curve (ROC-AUC) and under the "
     "precision-recall curve (PR-AUC)"),
    (r"log\w*|logarithm\w*|ln|natural|base \w+|box cox|yeo johnson|sqrt|square root|cube root|exp|exponential|"
     r"expm1|reciprocal|inverse|standardi[sz]ed|z scores?",
     "transforms the values or the score, which Loom does only as RMSLE and MSLE (on log1p of truth and "
     "prediction: \"Minimize RMSLE\")"),
    (r"percentiles?|quantiles?|deciles?|quartiles?|\d+(st|nd|rd|th)|p\d+|tails?|worst( case)?|median",
     "asks for a quantile, not the metric over all rows, which Loom does not compute"),
    (r"totals?|sums?|summed|aggregat\w*|daily|weekly|monthly|yearly|hourly|annual(ly)?|quarterly|cv|"
     r"coefficient of variation|" + _OVER + r" (each|every) \w+",
     "aggregates the rows or averages per group before scoring, while Loom scores the metric once over the rows"),
)
_GROUP_AVERAGE = r"(over|across|within) " + _EVERY + r"?(\w+ )?\w+"
_MAPE_PERCENT = r"percent(age)?|%|in percent"


def find(pattern: str, text: str) -> list[Span]:
    """Spans of `pattern` as whole words in `text` (normalized: lower case, single spaces)."""
    return [m.span() for m in re.finditer(_W + "(" + pattern + ")" + _E, text)]


def blank(text: str, spans: list[Span]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            chars[i] = " "
    return "".join(chars)


def _said(text: str, spans: list[Span]) -> str:
    return " ".join(text[s:e].strip() for s, e in spans)


def read(name: str, rest: str) -> tuple[str, list[Span], list[tuple[str, str, Span]]]:
    """`rest` is the sentence with the metric's own words blanked. Returns the metric the qualifiers
    name exactly (`name` itself when they change nothing), the spans they consumed, and
    (words, why, span) for each qualifier that changes what is measured in a way Loom does not compute."""
    used: list[Span] = []
    refused: list[tuple[str, str, Span]] = []

    def refuse(spans: list[Span], why: str) -> None:
        merged: list[Span] = []
        for start, end in sorted(spans):  # "averaged" + "over months": one phrase
            if merged and start <= merged[-1][1] + 1:  # the sentence is normalized to single spaces
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        for span in merged:
            refused.append((rest[span[0]:span[1]].strip(), why, span))

    averaged = find(_AVERAGE, rest)
    per_class, all_classes = find(_PER_CLASS, rest), find(_ALL_CLASSES, blank(rest, find(_PER_CLASS, rest)))
    macro = find(r"macro( average| averaged)?", rest)
    if (per_class or all_classes) and averaged or macro:
        classes = per_class + all_classes + averaged
        if name in CLASS_AVERAGE:
            name = CLASS_AVERAGE[name]
            used += classes
        else:
            refuse(classes, "averages the metric over the classes, which Loom computes only as macro F1, balanced "
                            "accuracy and ROC-AUC (one-vs-rest)")
    elif per_class:
        refuse(per_class, "scores each class apart: say how to combine them (\"Maximize macro F1\" is their "
                          "unweighted mean, \"Maximize balanced accuracy\" the mean recall over the classes)")
    elif all_classes and name not in ALL_CLASSES:
        refuse(all_classes, "does not say how the classes combine: write \"Maximize macro F1\", \"Maximize "
                            "weighted F1\" or the metric alone (scored on the positive class)")
    rest_after = blank(rest, used + [s for _, _, s in refused])

    positive = find(_POSITIVE, rest_after) if name in POSITIVE_CLASS else []
    used += positive
    rest_after = blank(rest_after, positive)
    one_class = find(_ONE_CLASS, rest_after)
    if one_class:
        if name in POSITIVE_CLASS:
            why = ("restricts the metric to one class: Loom scores it on the positive class of a binary target, which "
                   "the goal names (\"... the positive class is <label>\" in --goal), so name it there and drop it "
                   "from --metric")
        else:
            why = "restricts the metric to one class, which Loom does not compute: it scores every class"
        refuse(one_class, why)
        rest_after = blank(rest_after, one_class)

    if name == "mape":
        percent = find(_MAPE_PERCENT, rest_after)
        refuse(percent, "asks for a percentage, while Loom's MAPE is a fraction (0.05 means 5%): \"Minimize MAPE\" "
                        "ranks models exactly as the percentage would and reports the fraction")
        rest_after = blank(rest_after, percent)
    for pattern, why in _KINDS:
        spans = find(pattern, rest_after)
        refuse(spans, why)
        rest_after = blank(rest_after, spans)
    if find(_AVERAGE, rest_after) and find(_GROUP_AVERAGE, rest_after):
        spans = find(_AVERAGE, rest_after) + find(_GROUP_AVERAGE, rest_after)
        refuse(spans, "averages the metric over groups, while Loom scores it once over the rows")
        rest_after = blank(rest_after, spans)
    bare = [s for s in find(_AVERAGE, rest_after) if name not in MEANS or "weighted" in rest_after[s[0]:s[1]]]
    refuse(bare, "averages the metric over something the sentence does not name: over the classes is \"Maximize "
                 "macro F1\" or \"Maximize balanced accuracy\"; Loom scores any other metric once over the rows")
    return name, used, refused


def explain(refused: list[tuple[str, str, Span]]) -> tuple[list[str], str]:
    """The words refused (in sentence order, once each) and one clause saying why for each reason."""
    ordered = sorted(refused, key=lambda r: r[2])
    words = list(dict.fromkeys(w for w, _, _ in ordered if w))
    reasons: dict[str, list[str]] = {}
    for word, why, _ in ordered:
        reasons.setdefault(why, [])
        if word and word not in reasons[why]:
            reasons[why].append(word)
    clauses = [f"{', '.join(repr(w) for w in ws)} {why}" for why, ws in reasons.items()]
    return words, "; ".join(clauses)
