"""AIDE 0.2.2 as a library: import it cleanly, route its LLM calls per run, build its config.

- Importing aide mutes `warnings` process-wide (shutup) and puts a RichHandler on the root
  logger; `import_aide()` undoes both.
- `aide.agent` imported `query` by name. `install_dispatch()` replaces `aide.agent.query`
  ONCE with a dispatcher that looks up the current run's `Router` in a ContextVar, so two
  runs in two threads each reach their own model ports (a thread started by a run must run
  in a copy of its context). The same is done for `aide.agent.random` (a per-run seeded
  RNG) and `aide.agent.print` (to logging). Outside a Loom run, aide behaves as before.
- `build_config()` makes AIDE's OmegaConf config from LoomConfig, never from sys.argv.
"""

from __future__ import annotations

import contextvars
import logging
import math
import random
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loom.application.ports.models import ModelPort
from loom.domain.llm import ChatRequest, ToolSpec

log = logging.getLogger(__name__)

_ROUTER: contextvars.ContextVar["Router | None"] = contextvars.ContextVar("loom_aide_router", default=None)
_INSTALL_LOCK = threading.Lock()
# Usage of the step running in this context: [tokens, usd or None] (None = not counting)
_STEP_USAGE: contextvars.ContextVar[list | None] = contextvars.ContextVar("loom_aide_step_usage", default=None)


def _deferred_module(name: str, search_path: str, eager: tuple[str, ...] = ()) -> Any:
    """Register `name` (a module of aide's) without running it; it runs on first use of a name
    it defines. `eager` names a light submodule whose public names are there at once."""
    import importlib.machinery  # noqa: PLC0415
    import importlib.util  # noqa: PLC0415
    import sys  # noqa: PLC0415

    spec = importlib.machinery.PathFinder.find_spec(name, [search_path])
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    loaded = threading.RLock()  # re-entered: the module imports its submodules via its own names

    def load() -> None:
        with loaded:
            if not module.__dict__.get("_loom_loaded"):
                module.__dict__["_loom_loaded"] = True
                spec.loader.exec_module(module)  # type: ignore[union-attr]

    def __getattr__(attr: str) -> Any:  # PEP 562: called only for names not (yet) defined
        if attr.startswith("__"):
            raise AttributeError(attr)
        load()
        try:
            return module.__dict__[attr]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}") from None

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = module
    for sub in eager:
        light = importlib.import_module(f"{name}.{sub}")
        for key, value in vars(light).items():
            if not key.startswith("_"):
                module.__dict__.setdefault(key, value)
    return module


def _defer_unused_aide_modules() -> None:
    """aide imports every vendor SDK (aide.backend: anthropic, openai, ... 2-3 s) and igraph ->
    matplotlib (aide.utils.tree_export, ~2 s) when it is imported, though Loom routes every LLM
    call through its own model ports and writes its own tree. Both are registered unrun: they run
    only if something really uses them (aide's own `query` outside a Loom run, `save_run`)."""
    import importlib.util  # noqa: PLC0415
    import os  # noqa: PLC0415
    import sys  # noqa: PLC0415

    if "aide" in sys.modules:
        return
    found = importlib.util.find_spec("aide")
    if found is None or not found.submodule_search_locations:
        return
    root = list(found.submodule_search_locations)[0]
    backend = _deferred_module("aide.backend", root, eager=("utils",))
    if backend is not None:
        def query(*args: Any, **kwargs: Any) -> Any:  # aide's own dispatcher, loaded on first call
            backend.__getattr__("query")
            return backend.__dict__["query"](*args, **kwargs)

        backend.__dict__["query"] = query
    _deferred_module("aide.utils.tree_export", os.path.join(root, "utils"))


def _link_deferred_modules() -> None:
    """A module registered unrun is not yet an attribute of its package (`aide.backend`)."""
    import sys  # noqa: PLC0415

    for name in ("aide.backend", "aide.utils.tree_export"):
        parent, _, child = name.rpartition(".")
        if name in sys.modules and parent in sys.modules and child not in vars(sys.modules[parent]):
            setattr(sys.modules[parent], child, sys.modules[name])


def import_aide() -> Any:
    """Import aide.agent, then undo its process-wide side effects. Returns the aide.agent module."""
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    _defer_unused_aide_modules()
    import aide.agent as agent_module  # noqa: PLC0415 - heavy, only when the aide brain runs

    _link_deferred_modules()

    try:
        import shutup  # noqa: PLC0415

        shutup.jk()  # aide called shutup.mute_warnings(): warnings.warn is a no-op until this
    except ImportError:  # pragma: no cover - shutup ships with aide's deps
        pass
    for handler in list(root.handlers):
        # only aide's RichHandler: a host that configured logging meanwhile keeps its handlers
        if handler not in before and type(handler).__module__.startswith("rich"):
            root.removeHandler(handler)
    root.setLevel(level)
    try:  # pandas 3 types strings as `str`: aide's preview would drop string columns
        import pandas as pd  # noqa: PLC0415

        if int(pd.__version__.split(".")[0]) >= 3:
            pd.set_option("future.infer_string", False)
    except (ImportError, ValueError, KeyError):  # pragma: no cover
        pass
    return agent_module


class _RandomProxy:
    """`aide.agent.random`: the run's own seeded RNG inside a run, the global one outside."""

    def __getattr__(self, name: str) -> Any:
        router = _ROUTER.get()
        return getattr(router.rng if router is not None else random, name)


def _print_to_log(*args: Any, **_: Any) -> None:
    log.info(" ".join(str(a) for a in args))


def install_dispatch() -> Any:
    """Patch aide.agent once (idempotent, thread-safe). Returns the aide.agent module."""
    with _INSTALL_LOCK:
        agent_module = import_aide()
        if not getattr(agent_module.query, "_loom_dispatch", False):
            original = agent_module.query

            def dispatch(*args: Any, **kwargs: Any) -> Any:
                router = _ROUTER.get()
                if router is None:
                    return original(*args, **kwargs)
                return router.query(*args, **kwargs)

            dispatch._loom_dispatch = True  # type: ignore[attr-defined]
            agent_module.query = dispatch
            agent_module.random = _RandomProxy()
            agent_module.print = _print_to_log
            _memoize_format_code()
        return agent_module


def _memoize_format_code() -> None:
    """aide formats every reply with black twice (each code block, then the joined result: the
    same text again when there is one block). black is deterministic and idempotent, so a small
    memo of input -> output, which also knows its outputs are formatted, halves that work. It is
    CPU time in Loom's process under the GIL: with --workers it is what candidates wait behind."""
    from aide.utils import response  # noqa: PLC0415

    original = response.format_code
    if getattr(original, "_loom_memo", False):
        return
    memo: dict[str, str] = {}
    lock = threading.Lock()

    def format_code(code: str) -> str:
        with lock:
            found = memo.get(code)
        if found is not None:
            return found
        out = original(code)
        with lock:
            if len(memo) > 512:
                memo.clear()
            memo[code] = out
            memo[out] = out
        return out

    format_code._loom_memo = True  # type: ignore[attr-defined]
    response.format_code = format_code


def run_rng() -> Any:
    """The current run's seeded RNG (the global `random` outside a Loom run)."""
    router = _ROUTER.get()
    return router.rng if router is not None else random


def activate(router: "Router") -> contextvars.Token:
    return _ROUTER.set(router)


def deactivate(token: contextvars.Token) -> None:
    _ROUTER.reset(token)


def count_step_usage() -> list:
    """Start counting the LLM usage of the current step (in this context); returns the counter."""
    counter: list = [0, 0.0]
    _STEP_USAGE.set(counter)
    return counter


def _add_usage(response: Any) -> None:
    counter = _STEP_USAGE.get()
    usage = getattr(response, "usage", None)
    if counter is None or usage is None:
        return
    counter[0] += usage.input_tokens + usage.output_tokens
    counter[1] = None if usage.usd is None or counter[1] is None else counter[1] + usage.usd


def normalize_review(args: Any, maximize: bool) -> dict[str, Any]:
    """The judge's `submit_review` arguments, made safe: float metric, run's fixed direction."""
    args = args if isinstance(args, dict) else {}
    metric = args.get("metric")
    if isinstance(metric, bool):
        metric = None
    elif isinstance(metric, (int, float)):
        metric = float(metric)  # an integer metric would make aide mark the node buggy
    elif isinstance(metric, str):
        try:
            metric = float(metric.strip())
        except ValueError:
            metric = None
    else:
        metric = None
    if metric is not None and not math.isfinite(metric):
        metric = None
    is_bug = args.get("is_bug")
    if isinstance(is_bug, str):
        is_bug = is_bug.strip().lower() in ("true", "yes", "1")
    if not isinstance(is_bug, bool):
        is_bug = metric is None
    return {
        "is_bug": is_bug,
        "summary": str(args.get("summary") or ""),
        "metric": metric,
        "lower_is_better": not maximize,  # fixed once per run from --metric
    }


@dataclass
class Router:
    """One run's routing of aide's `query`: a tool spec -> the judge; no tool -> the code writer."""

    code_model: ModelPort
    feedback_model: ModelPort
    code_model_name: str
    feedback_model_name: str
    code_temperature: float
    feedback_temperature: float
    maximize: bool
    rng: random.Random

    def query(self, system_message: Any = None, user_message: Any = None, model: str | None = None,
              temperature: float | None = None, max_tokens: int | None = None,
              func_spec: Any = None, **_: Any) -> Any:
        from aide.backend.utils import compile_prompt_to_md  # noqa: PLC0415

        limit: dict[str, Any] = {"max_tokens": max_tokens} if max_tokens else {}
        system = compile_prompt_to_md(system_message) if system_message else None
        user = compile_prompt_to_md(user_message) if user_message else None
        if user is None:  # aide sends its whole prompt as "system"; APIs want a user turn
            system, user = None, system
        if func_spec is not None:
            request = ChatRequest(
                system=system, user=user, model=self.feedback_model_name,
                temperature=self.feedback_temperature,
                tool=ToolSpec(func_spec.name, func_spec.description, dict(func_spec.json_schema)),
                **limit,
            )
            response = self.feedback_model.complete(request)
            _add_usage(response)
            return normalize_review(response.tool_args, self.maximize)
        request = ChatRequest(
            system=system, user=user, model=self.code_model_name, temperature=self.code_temperature, **limit,
        )
        response = self.code_model.complete(request)
        _add_usage(response)
        return response.text or ""


def build_config(*, goal: str, task_dir: Path, log_dir: Path, exec_timeout: float, steps: int,
                 num_drafts: int, debug_prob: float, max_debug_depth: int, code_model: str,
                 feedback_model: str, code_temp: float, feedback_temp: float) -> Any:
    """AIDE's config (its own yaml, no CLI args) with this run's folders and budget."""
    from aide.utils.config import Config, _load_cfg  # noqa: PLC0415
    from omegaconf import OmegaConf  # noqa: PLC0415

    cfg = _load_cfg(use_cli_args=False)
    cfg.data_dir = str(task_dir / "input")
    cfg.goal = goal
    cfg.eval = None
    cfg.log_dir = str(log_dir)
    cfg.workspace_dir = str(task_dir)  # holds input/ (the prepared candidate input) and working/
    cfg.exp_name = "loom"
    cfg.preprocess_data = False
    cfg.copy_data = False
    cfg.generate_report = False
    cfg.exec.timeout = int(max(1, math.ceil(exec_timeout)))
    cfg.agent.steps = steps
    cfg.agent.k_fold_validation = 1  # one validation split: fast candidates, the holdout is Loom's
    cfg.agent.code.model, cfg.agent.code.temp = code_model, code_temp
    cfg.agent.feedback.model, cfg.agent.feedback.temp = feedback_model, feedback_temp
    cfg.report.model = feedback_model
    cfg.agent.search.num_drafts = num_drafts
    cfg.agent.search.debug_prob = debug_prob
    cfg.agent.search.max_debug_depth = max_debug_depth
    merged = OmegaConf.merge(OmegaConf.structured(Config), cfg)
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    return merged
