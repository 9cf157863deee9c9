"""The leak screen as a child process: `python -m loom.application.evaluation.screen_job [SPEC.json]`.

`loom run` starts it first thing: it imports pandas and scikit-learn while the Loom process
scans the table, reads its spec from stdin once the sample is ready (or from SPEC.json), and
cross-validates on the other core while the Loom process writes the candidates' input; the
long-lived Loom process never loads scikit-learn for it. The spec: {train, test|null, target,
kind, id_column|null, seed}; prints one JSON list of flags (nothing when stdin closes empty).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def run(spec: dict) -> list[dict[str, str]]:
    import pandas as pd

    from loom.application.evaluation import leakage

    train = pd.read_csv(spec["train"], low_memory=False)
    test = pd.read_csv(spec["test"], low_memory=False) if spec.get("test") else None
    flags = leakage.screen(train, spec["target"], spec["kind"], test=test, id_column=spec.get("id_column"),
                           seed=int(spec.get("seed", 0)))
    return [f.as_dict() for f in flags]


def main(argv: list[str]) -> int:
    if argv:
        spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    else:
        import pandas  # noqa: F401 - loaded while the parent still scans
        import sklearn.model_selection  # noqa: F401
        import sklearn.tree  # noqa: F401

        text = sys.stdin.read()
        if not text.strip():
            return 0
        spec = json.loads(text)
    print(json.dumps(run(spec)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
