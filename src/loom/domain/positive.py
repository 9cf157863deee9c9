"""Which class of a binary target is "positive": the one whose probability a submission holds.

ROC-AUC, PR-AUC, Gini, the Brier score, F1/F2/F0.5 and the single probability column of a binary
submission all score one class. A grader who asks for "the probability that a loan is bad"
scores P(bad); Loom's default (`metrics.positive_label`: 1 / true / yes / positive, else the last
class in order) would deliver P(good) and score 1 - AUC there. So the goal decides when it names
the class:
- explicitly: "<target> = <label>" ("churned = no"), "positive class is <label>", "<label> is the
  positive class", a quoted label after "probability";
- or, when the classes have no conventional positive (good/bad, A/B), the one label a sentence
  names after "probability" / "likelihood" / "chance" / "odds" / "whether" / "which" / "flag" /
  "find" ("the probability that a loan is bad", "flag the accounts that will default"), not
  negated ("not bad").
A conventional positive (1, true, yes) is only overridden explicitly: "no" is also an English word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from loom.domain.metrics import _POSITIVE, canon_label, positive_label

_ASKED = re.compile(r"\b(?:probabilit(?:y|ies)|likelihood|chance|odds|propensity|risk|whether|which|flag|detect|identify|find|spot|catch)\b")
_SENTENCE = re.compile(r"[.;!?\n]")


@dataclass(frozen=True)
class Positive:
    label: str
    how: str  # "goal" | "convention" (1 / true / yes / positive) | "order" (the last class in order)


def choose(classes: tuple[str, ...] | list[str], goal: str, target: str) -> Positive:
    """The positive class of a binary target (canonical labels), and how it was chosen."""
    labels = [canon_label(c) for c in classes]
    default = positive_label(labels)
    conventional = default.lower() in _POSITIVE
    text = (goal or "").lower()
    explicit = _explicit(labels, text, target.lower())
    if explicit is not None:
        return Positive(explicit, "goal")
    if not conventional:
        named = _named_after_asked(labels, text)
        if named is not None:
            return Positive(named, "goal")
    return Positive(default, "convention" if conventional else "order")


def _word(label: str) -> str:
    return rf"(?<![\w-]){re.escape(label.lower())}(?![\w-])"


def _explicit(labels: list[str], text: str, target: str) -> str | None:
    found = set()
    for label in labels:
        w = _word(label)
        patterns = [rf"positive\s+(?:class|label)\s*(?:is|=|:)?\s*['\"]?{w}", rf"['\"]?{w}['\"]?\s+is\s+the\s+positive"]
        if target:
            patterns.append(rf"(?<![\w-]){re.escape(target)}\s*(?:==?|:|is)\s*['\"]?{w}")
        quoted = rf"['\"]{re.escape(label.lower())}['\"]"
        if any(re.search(p, text) for p in patterns) or any(
                (m := _ASKED.search(s)) and re.search(quoted, s[m.end():]) for s in _SENTENCE.split(text)):
            found.add(label)
    return found.pop() if len(found) == 1 else None


def _named_after_asked(labels: list[str], text: str) -> str | None:
    found = set()
    for sentence in _SENTENCE.split(text):
        m = _ASKED.search(sentence)
        if not m:
            continue
        rest = sentence[m.end():]
        for label in labels:
            for hit in re.finditer(_word(label), rest):
                before = rest[max(0, hit.start() - 5):hit.start()]
                if not re.search(r"\bnot\s+$|\bnon-?$|\bno\s+$", before):
                    found.add(label)
    return found.pop() if len(found) == 1 else None
