"""`domain.positive.choose`: the goal names the positive class, else the convention, else the order."""

from __future__ import annotations

import pytest

from loom.domain.positive import choose


@pytest.mark.parametrize(("classes", "goal", "target", "label", "how"), [
    (["bad", "good"], "Predict the probability that a loan is bad", "status", "bad", "goal"),
    (["bad", "good"], "Predict whether a loan is bad", "status", "bad", "goal"),
    (["no", "yes"], "Predict the probability that the customer was retained (churned = no)", "churned", "no", "goal"),
    (["no", "yes"], "The positive class is no. Predict churn.", "churn", "no", "goal"),
    (["False", "True"], "Predict the probability that Transported is False", "Transported", "False", "goal"),
    (["A", "B"], "Predict the probability of class 'A'", "grp", "A", "goal"),
    (["fraud", "legit"], "Predict the probability that a transaction is fraud", "label", "fraud", "goal"),
    (["default", "paid"], "Flag the accounts that will default", "outcome", "default", "goal"),
    (["bad", "good"], "Find the bad loans", "status", "bad", "goal"),
    (["churned", "stayed"], "Predict which customers churned", "status", "churned", "goal"),
    # "no" is also a word: a conventional positive is overridden only explicitly
    (["no", "yes"], "Predict the probability of churn with no leakage", "churned", "yes", "convention"),
    (["0", "1"], "Predict the probability of default (1 = default, 0 = repaid)", "default", "1", "convention"),
    (["0", "1"], "Predict survival", "Survived", "1", "convention"),
    # negated, or both named, or neither: the last class in order
    (["fraud", "legit"], "Predict the probability that a transaction is not fraud", "label", "legit", "order"),
    (["bad", "good"], "Predict whether a loan is good or bad", "status", "good", "order"),
    (["A", "B"], "Predict grp", "grp", "B", "order"),
])
def test_choose(classes: list[str], goal: str, target: str, label: str, how: str) -> None:
    got = choose(classes, goal, target)
    assert (got.label, got.how) == (label, how)
