"""The delivered submission: the chosen solution refit on every labelled row, once every number is fixed.

Candidates fit on the train slice only; the selection and final slices stay sealed so that the
ranking and the estimate are honest. Once the best is chosen and its final-slice estimate is
computed, nothing Loom reports depends on the sealed labels any more, so the chosen code runs once
more, in the same sandbox, on all labelled rows (the train slice plus both sealed slices with
their labels) and predicts only the user's own test rows: the final model uses all the data, as a
data scientist expects. The estimate stays that of the same code fit without the sealed rows (on
average a little pessimistic for the refit), and the summary says which submission was delivered.

An ensemble (a best that was handed other candidates' files) is refit whole: each member is refit
on the same rows first, then the ensemble runs on their refit outputs (out-of-fold predictions over
every labelled row, test predictions for the user's rows), staged exactly as during the search.
When the ensemble states what it combined (`./working/ensemble.json`, members with a weight), only
those members are refit, and it re-weighs among them.

The best's own predictions are kept instead (with the reason recorded) when nothing was sealed,
the run did not end OK, what is left of `--time-budget` is shorter than the refits should take,
the best is an ensemble from before a --resume (Loom no longer knows what it was handed),
train.csv has columns test.csv lacks, or a refit fails or does not predict every test row.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.application.ports.search import SearchStopped
from loom.application.run_search import tables
from loom.application.run_search.grading import FINAL, SELECTION, TEST_IDS, user_submission
from loom.application.run_search.staging import stage_input

if TYPE_CHECKING:
    from loom.application.ports.mlops import ExecResult
    from loom.application.run_search.session import RunSession
    from loom.domain.search import Node, Task

log = logging.getLogger(__name__)
SIDE_FILES = (".txt", ".md", ".json")


@dataclass
class Refit:
    """What the refit did: `used` says whether submission.csv holds its predictions."""

    node_id: str  # the best node it refit
    used: bool = False
    rows: int = 0  # labelled rows it was fit on
    members: int = 0  # ensemble members refit before it
    exec_time: float = 0.0
    why: str | None = None  # why the best's own predictions were kept
    submission: Path | None = None  # the refit's predictions for the user's test rows

    def to_dict(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "used": self.used, "rows": self.rows, "members": self.members,
                "exec_time": round(self.exec_time, 3), "why": self.why}


def write_input(task: "Task", sealed_dir: Path, dest: Path) -> int:
    """dest: train.csv = the train slice + both sealed slices with their labels; test.csv and
    sample_submission.csv = the user's test rows only; side files as the candidates had them.
    Returns the labelled rows; ValueError (one line) when the input cannot be rebuilt."""
    import pyarrow as pa
    import pyarrow.compute as pc

    src = Path(task.input_dir)
    train, test = tables.read(src / "train.csv"), tables.read(src / "test.csv")
    id_col, target = task.id_column, task.target
    missing = [c for c in train.column_names if c != target and c not in test.column_names]
    if missing:
        raise ValueError(f"train.csv has columns test.csv lacks ({', '.join(missing[:3])})")
    labels = pa.concat_tables([tables.read(sealed_dir / SELECTION), tables.read(sealed_dir / FINAL)])
    test_keys = tables.canon_keys(test.column(id_col))

    def rows_of(ids: "pa.Array | pa.ChunkedArray", what: str) -> "pa.Table":
        at = pc.index_in(tables.canon_keys(ids), value_set=test_keys)
        if at.null_count:
            raise ValueError(f"{at.null_count} {what} rows are missing from test.csv")
        return test.take(at)

    sealed = rows_of(labels.column(0), "sealed")
    sealed = pa.table({c: labels.column(target) if c == target else sealed.column(c) for c in train.column_names})
    dest.mkdir(parents=True, exist_ok=True)
    tables.write(dest / "train.csv", pa.concat_tables([train, sealed.cast(train.schema)]))
    user_ids = tables.read(sealed_dir / TEST_IDS).column(0)
    tables.write(dest / "test.csv", rows_of(user_ids, "test"))
    sample = src / "sample_submission.csv"
    if sample.is_file():
        found = tables.read(sample)
        at = pc.index_in(tables.canon_keys(user_ids), value_set=tables.canon_keys(found.column(0)))
        tables.write(dest / "sample_submission.csv", found.take(at.drop_null()))
    for extra in sorted(src.iterdir()):
        if extra.is_file() and extra.suffix.lower() in SIDE_FILES:
            shutil.copyfile(extra, dest / extra.name)
    return train.num_rows + sealed.num_rows


def refit_best(session: "RunSession", best: "Node", work: Path, why_not: str | None = None) -> Refit:
    """Run the best's code (an ensemble: its members' first) on every labelled row; never raises for a bad refit."""
    task = session.task
    out = Refit(node_id=best.id)
    attach = session.attachments.get(best.id) or {}
    if why_not is None and best.combined and not attach:
        why_not = "the best combines other candidates' predictions from before a --resume: its members are unknown"
    used = weighted_members(session.node_outputs(best.id)) if attach else None
    if used is not None:  # refit only what the combination weighted; it re-weighs among them
        attach = {name: src for name, src in attach.items() if src[0] in used}
    by_id = {n.id: n for n in session.nodes()} if attach else {}
    members = [by_id.get(nid) for nid in dict.fromkeys(nid for nid, _ in attach.values())]
    if why_not is None and any(m is None for m in members):
        why_not = "an ensemble member is not in this run's journal"
    need = best.exec_time + sum(m.exec_time for m in members if m is not None)
    left = session.time_left()
    if why_not is None and left is not None and left < need:
        why_not = f"--time-budget has {max(0.0, left):.0f} s left, the refit would take about {need:.0f} s"
    if why_not is None and tables.read(session.sealed_dir / TEST_IDS).num_rows == 0:
        why_not = "no test rows (no test.csv, or one without rows): nothing for a refit to predict"
    if why_not is not None:
        out.why = why_not
        return out
    try:
        out.rows = write_input(task, session.sealed_dir, work / "input")
        outputs: dict[str, Path] = {}
        for member in members:
            assert member is not None
            done = session.execute_on(member.code, node_id=f"{member.id}-refit", input_dir=work / "input")
            out.exec_time += done.exec_time
            if not done.ok or done.outputs is None:
                out.why = f"the refit of ensemble member {member.id[:8]} failed ({_failure(done)})"
                return out
            outputs[member.id] = done.outputs
            out.members += 1
        input_dir = stage_input(work / "input", work / "staged", attach, outputs.get) if attach else work / "input"
        result = session.execute_on(best.code, node_id=f"{best.id}-refit", input_dir=input_dir)
        out.exec_time += result.exec_time
        if not result.ok or result.submission is None:
            out.why = f"the refit failed ({_failure(result)})"
            return out
        dest = work / "submission.csv"
        wanted = tables.read(session.sealed_dir / TEST_IDS).num_rows
        written = user_submission(task, session.sealed_dir, Path(result.submission), dest)
        if written < wanted:
            out.why = f"the refit predicted {written} of the {wanted} test rows"
            return out
        out.used, out.submission = True, dest
    except (OSError, ValueError, tables.TableError) as exc:
        out.why = f"the refit input could not be written ({str(exc).splitlines()[0][:200]})"
    except (KeyboardInterrupt, SearchStopped):  # Ctrl-C during the refit: deliver the best as chosen
        session.cancel.set()
        out.why = "the refit was interrupted"
    finally:
        for folder in ("input", "staged"):  # they hold the sealed labels
            shutil.rmtree(work / folder, ignore_errors=True)
    log.info("refit", extra=out.to_dict())
    return out


def weighted_members(outputs: Path | None) -> set[str] | None:
    """The node ids a combining candidate says it used (`./working/ensemble.json`: members with a
    weight above 0); None when it says nothing readable (then every attached member is refit)."""
    try:
        manifest = json.loads((outputs / "ensemble.json").read_text(encoding="utf-8")) if outputs else None
        found = {str(m["node_id"]) for m in manifest["members"] if float(m.get("weight", 1.0)) > 0}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):  # not the shape it states
        return None
    return found or None


def _failure(result: "ExecResult") -> str:
    return result.exc_type or f"exit code {result.exit_code}"
