"""RunSearch: data + goal + metric + budget -> a searched, graded, recorded SearchResult.

The use-case owns the run directory, the sealed slices, the leak screen, the journal, the
leaderboard, the final estimate and the corpus; the brain (search port) only proposes
candidates and the MLOps port only runs them. It never prints, exits or reads sys.argv, and
keeps no module state: two runs may go on at once in threads of one process.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loom.application.config import LoomConfig
from loom.application.credentials import CredentialSource, EnvCredentials
from loom.application.local_setup import require_interpreter
from loom.application.ports.mlops import Executor
from loom.application.ports.models import ModelPort
from loom.application.ports.observer import Event, NullObserver, Observer
from loom.application.preflight import require_models_ready
from loom.application.redaction import RedactingExecutor
from loom.application.ports.search import BudgetExhausted, SearchPort, SearchStopped
from loom.application.run_search import artifacts, grading, sourcing, standalone, tables, task_prep, tree_html
from loom.application.run_search.assessment import assess
from loom.application.run_search.metering import Meter, MeteredModel
from loom.application.run_search.refit import Refit, refit_best
from loom.application.run_search.session import RunSession
from loom.domain.errors import MissingCredentialError, UsageError
from loom.domain.metrics import parse_metric
from loom.domain.search import Node, SearchBudget, SearchResult, Task, rank
from loom.domain.status import Status
from loom.domain.wording import plural

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunRequest:
    """One `loom run`. Budget and providers come from LoomConfig; `steps` overrides for resume."""

    data: Path | None = None  # a data dir (train.csv, test.csv, ...) or one CSV file
    dataset: str | None = None
    goal: str | None = None
    metric: str | None = None
    metric_name: str | None = None
    experiment_id: str | None = None
    resume: str | None = None
    steps: int | None = None
    target: str | None = None  # the target column (inferred when None)
    time_column: str | None = None  # split by this column's time ("none": never by time; None: detect)
    group_column: str | None = None  # seal whole groups of this column ("none": never; None: detect)
    leaks: str | None = None  # warn | drop | fail (None: LoomConfig.leaks)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def resume_overrides(home: Path, run_id: str) -> dict[str, str]:
    """The providers a saved run used (so `--resume` continues with the same brain and muscle)."""
    data = artifacts.RunStore(home, run_id).load_journal()
    found = {"search_provider": data.get("search"), "mlops_provider": data.get("mlops")}
    return {k: v for k, v in found.items() if v}


class RunSearch:
    """The search use-case. Model ports are factories: a keyless brain never builds them."""

    def __init__(
        self,
        config: LoomConfig,
        search: SearchPort,
        executor: Executor,
        code_model: Callable[[], ModelPort] | None = None,
        feedback_model: Callable[[], ModelPort] | None = None,
        credentials: CredentialSource | None = None,
        observer: Observer | None = None,
        model_classes: Callable[[str], Any] | None = None,
    ) -> None:
        self.config = config
        self.model_classes = model_classes  # provider name -> adapter class, for preflight
        self.search = search
        self.executor = executor
        self._code_model = code_model
        self._feedback_model = feedback_model
        self.credentials = credentials or EnvCredentials()
        self.observer = observer or NullObserver()

    # ---- the use-case ------------------------------------------------------------------
    def __call__(
        self, request: RunRequest, observer: Observer | None = None, stop: threading.Event | None = None,
    ) -> SearchResult:
        """Run (or resume) one search. Setting `stop` kills running candidates and ends the run
        as INTERRUPTED with the journal saved (what Ctrl-C does in the CLI). The run folder is
        locked while it runs: a second writer gets a UsageError naming this process."""
        with ExitStack() as held:
            drain = getattr(self.executor, "drain", None)  # candidate runs still finishing (metaflow)
            if callable(drain):
                held.callback(drain)
            return self._run(request, observer, stop, held)

    def _run(self, request: RunRequest, observer: Observer | None, stop: threading.Event | None,
             held: ExitStack) -> SearchResult:
        observer = observer or self.observer
        started = time.monotonic()
        store, header, nodes, prior_usage, prepared = self._open(request, observer, held)
        self._announce_sandbox(store.run_id, observer)
        task = artifacts.task_from_dict(header["task"])
        budget = self._budget(request)
        code, feedback = self._models()
        meter = Meter(budget.max_usd, on_call=lambda role, resp: observer.notify(Event(
            "llm_call", store.run_id, tokens=sum(u.tokens for u in meter.usage.values()),
            usd=meter.spent(), message=role)))
        meter.restore(prior_usage)
        session = RunSession(
            run_id=store.run_id, task=task, budget=budget, seed=self.config.seed,
            executor=RedactingExecutor(self.executor), observer=observer, sealed_dir=store.sealed_dir,
            total_steps=len(nodes) + budget.steps, nodes=nodes,
            code_model=MeteredModel(code, "code", meter) if code else None,
            feedback_model=MeteredModel(feedback, "feedback", meter) if feedback else None,
            experiment_id=header.get("experiment_id"), cancel=stop,
            tags={"tenant": self.config.tenant, "owned_by": self.config.owned_by, "run_id": store.run_id},
        )
        session._on_node = lambda node: self._on_node(store, header, session, meter, node)
        observer.notify(Event("run_started", store.run_id, message=str(store.dir),
                              data={"steps": budget.steps, "resumed_from": len(nodes), "search": self.search.name,
                                    "metric": task.metric.name, "maximize": task.metric.maximize,
                                    "split": header.get("split") or {}}))
        status, message = Status.OK, ""
        try:
            self.search.search(session)
        except BudgetExhausted as exc:
            status, message = Status.STOPPED_AT_BUDGET, str(exc)
        except (KeyboardInterrupt, SearchStopped):
            session.cancel.set()
            status, message = Status.INTERRUPTED, f"interrupted; continue with: loom run --resume {store.run_id} --steps N"
        except BaseException as exc:  # a real failure (e.g. the LLM is down): keep what was found, then raise
            session.cancel.set()
            self._collect_screen(prepared, header, store.run_id, observer, wait=5.0)
            nodes_so_far = session.nodes()
            failed = SearchResult(
                run_id=store.run_id, status=Status.FAILED, run_dir=str(store.dir), metric=task.metric,
                positive=task.positive,
                nodes=nodes_so_far, leaderboard=rank(nodes_so_far, task.metric), usage=dict(meter.usage),
                wall_time=time.monotonic() - started, message=str(exc)[:500], paths=store.paths(),
                split=dict(header.get("split") or {}), leaks=list((header.get("leaks") or {}).get("flagged", [])),
                leak_mode=(header.get("leaks") or {}).get("mode", "warn"),
            )
            try:
                self._finish(store, header, task, budget, meter, failed)
            except Exception:  # noqa: BLE001 - never hide the original error
                log.exception("could not save the failed run")
            raise
        if stop is not None and stop.is_set() and status is Status.OK:
            status, message = Status.INTERRUPTED, f"stopped; continue with: loom run --resume {store.run_id} --steps N"
        self._collect_screen(prepared, header, store.run_id, observer,
                             wait=5.0 if status is Status.INTERRUPTED else 600.0)
        if status is Status.OK and session.out_of_time():
            message = f"stopped at the time budget ({budget.time_budget:g} s)"
        elif status is Status.OK and session.steps_left() > 0 and session.last_note:
            message = session.last_note  # e.g. the baseline stopped early: what it saw
        all_nodes = session.nodes()
        ranked = rank(all_nodes, task.metric)
        if status is Status.OK and not any(not n.buggy for n in all_nodes):
            status, message = Status.FAILED, f"no working candidate in {plural(len(all_nodes), 'node')}"
        result = SearchResult(
            run_id=store.run_id, status=status, run_dir=str(store.dir), metric=task.metric,
            positive=task.positive,
            nodes=all_nodes, leaderboard=ranked, usage=dict(meter.usage),
            wall_time=time.monotonic() - started, message=message, paths=store.paths(),
            **assess(store.sealed_dir, header, task, ranked, seed=self.config.seed),
        )
        refit = self._refit(session, store, result, observer)
        result.refit = None if refit is None else refit.to_dict()
        if refit is not None and refit.used and task.n_train and len(task.columns) >= 0.1 * task.n_train:
            result.warnings.append(
                f"the estimate scores the best fit on {task.n_train:,} rows; submission.csv is its refit on "
                f"{refit.rows:,} ({refit.rows / task.n_train - 1:.0%} more). With {len(task.columns):,} features for "
                f"{task.n_train:,} rows a model gains much from more rows: expect the delivered submission to score "
                "better than the estimate, possibly beyond its interval")
        best_code = standalone.code_of(session, result.best) if result.best is not None else None
        self._finish(store, header, task, budget, meter, result, refit, best_code)
        observer.notify(Event("run_finished", store.run_id, message=status.value,
                              metric=result.best.metric if result.best else None,
                              holdout_metric=result.best.selection if result.best else None))
        return result

    # ---- steps -------------------------------------------------------------------------
    def _open(self, request: RunRequest, observer: Observer, held: ExitStack
              ) -> tuple[artifacts.RunStore, dict[str, Any], list[Node], dict, task_prep.Prepared | None]:
        """A new run (validate input, seal the slices, screen for leaks) or a saved one (--resume),
        locked in `held`. With `--leaks warn` the screen is still running when this returns (nothing
        the candidates see depends on it): `_collect_screen` adds its flags after the search."""
        if request.resume:
            if request.data is not None or request.dataset is not None:
                raise UsageError("--resume continues a saved run on its own data; drop --data/--dataset")
            store = artifacts.RunStore(self.config.home, request.resume)
            store.load_journal()  # a run that does not exist is a usage error before anything is locked
            held.enter_context(store.lock())
            data = store.load_journal()  # what the last writer left, read under the lock
            nodes = data.pop("nodes")
            if data.get("search") and data["search"] != self.search.name:
                raise UsageError(f"run {request.resume} was searched by '{data['search']}'; "
                                 f"resume it with --search {data['search']}")
            self._preflight()
            screen = data.get("leaks") or {}
            if screen.pop("pending", None):  # the process that ran it died before collecting it
                screen["error"] = "the leak screen did not finish before the run stopped"
            return store, data, nodes, data.get("usage", {}), None
        goal = (request.goal or "").strip()
        if not goal:
            raise UsageError('--goal is required: say what to predict, e.g. --goal "Predict churn"')
        metric = parse_metric(request.metric, request.metric_name)
        leaks = (request.leaks or self.config.leaks).strip().lower()
        if leaks not in task_prep.LEAK_MODES:
            raise UsageError(f"--leaks {request.leaks!r}: use one of {', '.join(task_prep.LEAK_MODES)}")
        if request.data is None and request.dataset is None:
            raise UsageError("no data: pass --data DIR (holding train.csv, test.csv), --data FILE.csv or --dataset PATHSPEC")
        if request.data is not None:
            task_prep.check_data(request.data)
        self._preflight()
        store = artifacts.RunStore(self.config.home, new_run_id())
        held.enter_context(store.lock())
        try:
            data_dir, request, read = sourcing.source(request, self.executor, store.sealed_dir, observer,
                                                      seed=self.config.seed)
            store.dir.mkdir(parents=True, exist_ok=True)
            prepared = task_prep.prepare_task(
                data_dir, store.task_dir, store.sealed_dir, goal=goal, metric=metric, seed=self.config.seed,
                dataset=request.dataset, target=request.target, time_column=request.time_column,
                group_column=request.group_column,
                share=self.config.holdout_fraction, leaks=leaks, defer_screen=True,
            )
            held.callback(prepared.discard_screen)  # never outlives the run, whatever ends it
        except BaseException:
            shutil.rmtree(store.dir, ignore_errors=True)  # bad input or --leaks fail: no half-made run is left
            shutil.rmtree(store.sealed_dir, ignore_errors=True)
            raise
        task = prepared.task
        flagged = [f.as_dict() for f in prepared.leaks]
        if flagged:
            self._announce_leaks(store.run_id, observer, leaks, flagged, prepared.dropped)
        sources = read.files if read is not None else sorted(data_dir.glob("*.csv"))
        inputs: dict[str, Any] = {"data": str(request.data or data_dir), "data_dir": str(data_dir), "dataset": request.dataset,
                                  "files": [artifacts.file_digest(Path(p)) for p in sources]}
        leak_state: dict[str, Any] = {"mode": leaks, "flagged": flagged, "dropped": prepared.dropped,
                                      "train_only": prepared.train_only, "row_numbers": prepared.row_numbers,
                                      "notes": (read.notes if read is not None else []) + prepared.notes,
                                      "error": prepared.screen_error}
        if prepared.train_only:
            observer.notify(Event("stage", store.run_id, message=(
                f"left out {', '.join(prepared.train_only)}: in train.csv only (test.csv lacks it)")))
        if prepared.pending is not None:
            leak_state["pending"] = True  # the screen is still running (saved so while it is)
        header = {
            "run_id": store.run_id, "created": time.time(), "search": self.search.name,
            "mlops": getattr(self.executor, "name", "?"), "experiment_id": request.experiment_id,
            "tenant": self.config.tenant, "owned_by": self.config.owned_by,
            "task": artifacts.task_to_dict(task), "inputs": inputs, "split": prepared.split,
            "leaks": leak_state,
        }
        store.save_journal(header, [], "RUNNING")
        return store, header, [], {}, prepared

    @staticmethod
    def _announce_leaks(run_id: str, observer: Observer, mode: str, flagged: list[dict[str, Any]],
                        dropped: list[str]) -> None:
        observer.notify(Event("stage", run_id, message=(
            f"leak screen ({mode}): flagged {', '.join(f['column'] for f in flagged)}"
            + (f"; dropped {', '.join(dropped)}" if dropped else "")), data={"leaks": flagged}))

    def _collect_screen(self, prepared: task_prep.Prepared | None, header: dict[str, Any], run_id: str,
                        observer: Observer, *, wait: float) -> None:
        """A deferred (--leaks warn) screen's flags into the header, announced like an early one's."""
        if prepared is None or prepared.pending is None:
            return
        prepared.collect_screen(wait)
        flagged = [f.as_dict() for f in prepared.leaks]
        screen = header["leaks"]
        screen.pop("pending", None)
        screen.update(flagged=flagged, error=prepared.screen_error)
        if flagged:
            self._announce_leaks(run_id, observer, screen.get("mode", "warn"), flagged, prepared.dropped)

    def _announce_sandbox(self, run_id: str, observer: Observer) -> None:
        """Once per run, loudly, when candidates will not be isolated (LOOM_SANDBOX=none or no bwrap)."""
        warning = getattr(self.executor, "sandbox_warning", lambda: None)()
        if warning:  # the observer is the loud channel (the CLI prints it); the log keeps a record
            log.info("sandbox warning", extra={"run_id": run_id, "warning": warning})
            observer.notify(Event("warning", run_id, message=warning))

    def precheck(self, *, metric: str | None, metric_name: str | None = None) -> None:
        """What a run refuses before any work, asked before the work that precedes a run (the
        pipeline's ingest, eda, features): the metric sentence, the model routes' keys."""
        parse_metric(metric, metric_name)
        self._preflight()

    def _preflight(self) -> None:
        """Before any work: LOOM_PYTHON must start (every candidate runs with it), the executor's
        own settings must hold (its `preflight`, when it has one), and the selected model routes
        must be usable (keys, tool-capable judge)."""
        require_interpreter(self.config.python)
        executor_preflight = getattr(self.executor, "preflight", None)
        if callable(executor_preflight):
            executor_preflight()
        if not getattr(self.search, "needs_models", False):
            return
        try:
            if self.model_classes is None:
                self._models()  # no resolver handed in: building the adapters is the check
                return
            require_models_ready(self.config, self.credentials, resolve=self.model_classes)
        except MissingCredentialError as exc:
            if exc.hint is None:
                exc.hint = "the baseline brain needs no key: --search baseline"
            raise

    def _models(self) -> tuple[ModelPort | None, ModelPort | None]:
        if not getattr(self.search, "needs_models", False):
            return None, None
        code = self._code_model() if self._code_model else None
        feedback = self._feedback_model() if self._feedback_model else None
        if code is None or feedback is None:
            raise UsageError(f"the '{self.search.name}' search needs code and feedback model providers")
        return code, feedback

    def _budget(self, request: RunRequest) -> SearchBudget:
        c = self.config
        return SearchBudget(
            steps=request.steps or c.budget_steps, num_drafts=c.budget_num_drafts,
            debug_prob=c.budget_debug_prob, max_debug_depth=c.budget_max_debug_depth,
            exec_timeout=c.exec_timeout, max_usd=c.max_usd, workers=c.workers, time_budget=c.time_budget,
        )

    # ---- recording ---------------------------------------------------------------------
    def _header(self, header: dict[str, Any], meter: Meter) -> dict[str, Any]:
        return {**header, "usage": {r: asdict(u) for r, u in meter.usage.items()}}

    def _on_node(self, store: artifacts.RunStore, header: dict[str, Any], session: RunSession,
                 meter: Meter, node: Node) -> None:
        store.save_journal(self._header(header, meter), session.nodes(), "RUNNING")
        store.append_corpus(node, task=session.task, tenant=self.config.tenant, owned_by=self.config.owned_by,
                            search=self.search.name, experiment_id=header.get("experiment_id"))

    def _refit(self, session: RunSession, store: artifacts.RunStore, result: SearchResult,
               observer: Observer) -> Refit | None:
        """The chosen best refit on every labelled row for submission.csv (refit.py); None: nothing to refit."""
        best = result.best
        if best is None or (result.split or {}).get("kind", "none") == "none":
            return None  # nothing was sealed: the best already fit on every labelled row
        why = None
        if not self.config.refit:
            why = "refit off (LOOM_REFIT / --no-refit)"
        elif result.status is not Status.OK:
            why = f"the run ended {result.status.value}"
        if why is None:
            observer.notify(Event("stage", store.run_id, message="refitting the best on every labelled row"))
        return refit_best(session, best, store.sealed_dir / "refit", why)

    def _finish(self, store: artifacts.RunStore, header: dict[str, Any], task: Task, budget: SearchBudget,
                meter: Meter, result: SearchResult, refit: Refit | None = None, best_code: str | None = None) -> None:
        ids = store.sealed_dir / grading.TEST_IDS
        no_test = ids.is_file() and tables.read(ids).num_rows == 0
        if no_test and result.best is not None:
            result.warnings.append("no test rows (no test.csv, or one without rows): no submission.csv was written; "
                                   "best_solution.py is the chosen solution and the estimate its score on sealed rows")
        store.save_journal(self._header(header, meter), result.nodes, result.status.value)
        store.save_leaderboard(result.leaderboard, task.metric, estimate=result.estimate,
                               leaks={"mode": result.leak_mode, "flagged": result.leaks},
                               warnings=result.warnings, split=result.split, refit=result.refit)
        best = result.best
        if best is not None:
            store.best_path.write_text(best_code or best.code, encoding="utf-8")  # a combination runs its members
            if refit is not None and refit.used and refit.submission is not None:
                shutil.copyfile(refit.submission, store.submission_path)
                shutil.rmtree(refit.submission.parent, ignore_errors=True)
            elif best.submission and Path(best.submission).is_file() and not no_test:
                try:
                    grading.user_submission(task, store.sealed_dir, Path(best.submission), store.submission_path)
                except (OSError, ValueError, KeyError) as exc:
                    log.warning("cannot write submission.csv", extra={"error": repr(exc)})
        if best is None:
            result.paths.pop("best_solution", None)
        if best is None or no_test:
            result.paths.pop("submission", None)
        store.tree_path.write_text(tree_html.render(store.run_id, task.goal, task.metric, result.nodes, best), encoding="utf-8")
        outcome = result.to_dict()
        outcome.pop("leaderboard", None)
        store.write_manifest(header=header, config=self.config.public_dict(), budget=budget,
                             status=result.status, outcome=outcome)

