"""`loom`: the command-line shell. Every verb is registered lazily ("module:function").

`loom --help` imports only cyclopts and this package's light modules: a verb's module (and
its backend) is imported when that verb runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from cyclopts import App, Parameter

from loom import __version__
from loom.entrypoints.cli.common import HELP as _HELP
from loom.entrypoints.cli.common import Common, set_global

_P = "loom.entrypoints.cli."

#: (verb, "module:function", one-line help). The help shows here without importing the module.
VERBS: tuple[tuple[str, str, str], ...] = (
    ("run", "run:run", "Search for the best solution to a task: the brain writes candidates, the muscle runs and scores them."),
    ("pipeline", "pipeline:pipeline", "ingest -> eda -> features -> run -> validate -> report, each stage gated on the one before."),
    ("plan", "plan:plan", "Turn a natural-language goal into a plan of Loom verbs (needs an LLM key)."),
    ("ingest", "ingest:ingest", "Turn a data dir or a CSV/Parquet file into a versioned data object (IngestDataset/N)."),
    ("eda", "eda:eda", "Profile a data object: stats, correlations, leakage flags; an @card with plots."),
    ("features", "features:features", "Derive a feature set (leaky columns dropped) as a new data object."),
    ("train", "train:train", "Build a backbone (pretrain/embed/finetune/evaluate), behind the cost-plan gate."),
    ("validate", "validate:validate", "CV + sealed holdout + calibration + slices + leakage checks, with a VERDICT."),
    ("report", "report:report", "Write a model card (HTML + Markdown) over runs or an experiment."),
    ("deploy", "deploy:deploy", "Gate, plan and (with --apply) deploy a solution for batch scoring or serving."),
    ("ops", "ops:ops", "Run health and data drift of a batch vs a reference, with a VERDICT."),
    ("datasets", "browse:datasets", "List ingested datasets (data objects)."),
    ("runs", "browse:runs", "List runs, optionally of one flow."),
    ("show", "browse:show", "Show a pathspec: its status, tags and artifacts."),
    ("card", "browse:card", "Print the path of a run's card, or open it in a browser."),
    ("providers", "providers:providers", "List every port's providers, which is selected, and whether each is ready."),
    ("doctor", "providers:doctor", "Preflight the selected providers: PASS / WARN / FAIL with a fix per line."),
)

app = App(
    name="loom",
    help="Loom: an agentic data-science engine. Point it at data, a goal and a metric.",
    version=__version__,
    help_flags=("--help", "-h"),
    help_format="plaintext",  # the markdown renderer alone would double `loom --help` time
    suppress_keyboard_interrupt=False,  # Ctrl-C reaches run_guarded: `loom: interrupted`, the JSON object, 130
)
app.meta.suppress_keyboard_interrupt = False  # the launcher of the global flags, too

for _verb, _target, _help in VERBS:
    app.command(_P + _target, name=_verb, help=_help)
app.command(_P + "mcp_cmd:mcp_app", name="mcp", help="Serve Loom's verbs as MCP tools for agents: `loom mcp serve`.")
app.command(_P + "skills_cmd:skills_app", name="skills", help="Install the Claude Code skill pack: `loom skills install`.")
app.command(_P + "config_cmd:config_app", name="config", help="Show the resolved configuration and where each value came from.")
app.command(_P + "proxy_cmd:proxy_app", name="proxy", help="The gateway: `loom proxy serve` holds the vendor key and logs calls; `keys` and `usage` report spend.")


@app.meta.default
def _launcher(
    *tokens: Annotated[str, Parameter(show=False, allow_leading_hyphen=True)],
    config: Annotated[Path | None, Parameter(help=_HELP["config"])] = None,
    json: Annotated[bool, Parameter(negative="", help=_HELP["json"])] = False,
    debug: Annotated[bool, Parameter(negative="", help=_HELP["debug"])] = False,
) -> int | None:
    """Global flags (--config, --json, --debug) may come before the verb."""
    # plain keywords here, not the flattened Common dataclass: ~10 ms less on every `loom --help`
    set_global(Common(config=config, json=json, debug=debug))
    try:
        return app(tokens)
    finally:
        set_global(Common())  # in-process callers (tests, services) never inherit flags


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point: one place maps errors to exit codes."""
    from loom.entrypoints.cli.errors import run_guarded
    from loom.entrypoints.threadsafe_ast import install

    install()  # before cyclopts parses docstrings for --help while other threads may log tracebacks
    tokens = list(sys.argv[1:] if argv is None else argv)
    # a parse error is raised, never drawn as a Rich panel: run_guarded makes it one `loom:` line
    # on stderr (plus one JSON object with --json) and exit code 2; --help/--version are unaffected
    sys.exit(run_guarded(lambda: app.meta(tokens, exit_on_error=False, print_error=False), tokens))


if __name__ == "__main__":  # pragma: no cover
    main()
