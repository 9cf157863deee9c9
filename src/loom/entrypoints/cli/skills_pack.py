"""The Claude Code skill pack `loom skills install` writes: four SKILL.md files and an MCP entry.

Each skill says which verb to run with `--json`, how to read the object it prints, and when to
stop and ask the human (spend, gates, leakage, a FAIL verdict). `allowed-tools` pre-approves only
what costs nothing and changes nothing outside LOOM_HOME: keyless runs, views, ingest/eda/validate.
A run with an LLM brain, `deploy --apply` and `train --launch` always go through a prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

NAME_RULE = r"^[a-z0-9]+(-[a-z0-9]+)*$"  # lowercase-hyphen, at most 64 characters
MAX_NAME, MAX_DESCRIPTION = 64, 1024

_READING = """## Reading the result
Every verb run with `--json` prints ONE JSON object on stdout; progress and logs go to stderr.
- `status` first: OK, PLANNED, BUILT (success); FAILED; INTERRUPTED; REFUSED_* (a gate said no).
- The exit code agrees: 0 ok, 1 failure, 2 bad input or configuration, 3 refused by a gate, 130 interrupted.
- On an error the object is `{"status", "exit_code", "message", "hint"}`: read `message`, follow `hint`.
  Do not retry a usage error unchanged; fix the flag the message names."""

_STOP = """## Stop and ask the human before
- anything that spends money: `--search aide` (LLM calls), `loom plan`, a `--max-usd` above what they set;
- anything behind a gate: `loom deploy --apply`, `loom train --launch`, or when a result is `REFUSED_*`
  (show the plan and the hint; never work around a gate);
- using data with leakage flags (eda `leakage` non-empty, validate leakage checks): say which columns;
- a validate VERDICT FAIL or REVIEW: report the reasons instead of deploying;
- a MISSING_CREDENTIAL error: ask the human to export the key; never put a key on the command line."""

_MCP = """## Through MCP instead of the shell
With the Loom MCP server (`loom mcp serve`, see `.mcp.json`), call the tool of the same name
(`{tools}`) with the same arguments (flag names with underscores). Results are the same objects.
Long runs report progress; without progress support use `run_start`, then `run_status` / `run_cancel`.
Read `loom://runs/RUN_ID/leaderboard` and `loom://runs/RUN_ID/summary` for a run's results."""


@dataclass(frozen=True)
class Skill:
    name: str
    description: str
    allowed_tools: tuple[str, ...]
    body: str
    mcp_tools: tuple[str, ...]

    def render(self) -> str:
        tools = ", ".join(self.allowed_tools + tuple(f"mcp__loom__{t}" for t in self.mcp_tools))
        mcp = _MCP.format(tools="`, `".join(self.mcp_tools))
        # the description is a YAML double-quoted scalar (JSON's string syntax is valid YAML): it has colons
        return (f"---\nname: {self.name}\ndescription: {json.dumps(self.description)}\nallowed-tools: {tools}\n---\n\n"
                f"{self.body.strip()}\n\n{_READING}\n\n{_STOP}\n\n{mcp}\n")


SKILLS: tuple[Skill, ...] = (
    Skill(
        "loom-optimize",
        "Search for the best model for a tabular prediction task with Loom (loom run): candidates are "
        "written, run for real and graded on a sealed holdout. Use when the user wants to train, improve "
        "or compare models on a data dir with train.csv/test.csv, or asks to optimize a metric.",
        ("Read", "Bash(loom run --search baseline:*)", "Bash(loom runs:*)", "Bash(loom show:*)",
         "Bash(loom doctor:*)", "Bash(loom config show:*)"),
        """# Optimize a model with Loom

1. Check readiness: `loom doctor --json` (a FAIL line names its fix).
2. Run the search, keyless first:
   `loom run --data DIR --goal "Predict <target>" --metric "Maximize ROC-AUC" --search baseline --mlops local --steps 5 --json`
   The metric is a sentence with a direction (Maximize/Minimize + ROC-AUC, accuracy, F1, log loss, RMSE, MAE, R2).
   Add `--events jsonl` to follow progress as JSON lines on stderr.
3. Read the object: `estimate` (value, low, high) is the number Loom vouches for: the chosen best scored
   once on a sealed final slice no candidate saw. `best.selection` is Loom's grade on the sealed selection
   slice, which ranks `leaderboard`; `best.self_reported` is the candidate's own claim.
   `paths.best_solution` and `paths.submission` are the files to hand over.
4. To search with an LLM brain (`--search aide`), ask the human first: it spends money
   (cap it with `--max-usd`). A stopped run continues with `loom run --resume RUN_ID --steps N --json`.""",
        ("run", "run_start", "run_status", "run_cancel", "runs", "doctor"),
    ),
    Skill(
        "loom-eda",
        "Profile a dataset with Loom before modelling: ingest it as a versioned data object, then get "
        "stats, target balance, correlations and leakage flags (loom ingest, loom eda). Use when the user "
        "shares new data, asks what is in a dataset, or before any model is trained on it.",
        ("Read", "Bash(loom ingest:*)", "Bash(loom eda:*)", "Bash(loom features:*)", "Bash(loom datasets:*)", "Bash(loom show:*)",
         "Bash(loom card:*)"),
        """# Explore a dataset with Loom

1. Ingest: `loom ingest --source DIR_OR_FILE --json` -> `pathspec` (IngestDataset/N), `rows`, `target`, `task_type`.
   Pass `--target COLUMN` when the user names it; otherwise check the inferred `target`.
2. Profile: `loom eda --dataset IngestDataset/N --json` -> `verdict` (PASS or REVIEW), `missing`,
   `top_correlations`, `target_summary`, and `leakage`: a list of {column, kind, detail}.
3. Summarize for the human: rows x columns, target balance, the worst missing columns, and every
   leakage flag with its kind. `loom card EdaFlow/N --json` gives the HTML card's path.
4. Next step when leakage flags exist: `loom features --dataset IngestDataset/N --from EdaFlow/N --json`
   drops them (ask first if a flagged column is one the human relies on).""",
        ("ingest", "eda", "features", "datasets", "show", "card"),
    ),
    Skill(
        "loom-validate",
        "Validate a model with Loom before anyone relies on it: cross-validation, a sealed holdout, "
        "calibration, per-slice metrics and leakage checks, ending in a VERDICT (loom validate). Use when "
        "a search run finished, before a deploy, or when the user asks whether a model is good enough.",
        ("Read", "Bash(loom validate:*)", "Bash(loom runs:*)", "Bash(loom show:*)", "Bash(loom card:*)",
         "Bash(loom report:*)"),
        """# Validate a model with Loom

1. Validate: `loom validate --dataset IngestDataset/N --solution RUN_ID_OR_CandidateRun/N --json`
   (no `--solution`: a gradient-boosted baseline, a useful reference). `--sensitive COLUMN` adds per-slice metrics.
2. Read: `verdict` (PASS / REVIEW / FAIL) and its `reasons`; `holdout_score` vs `cv_mean` (a large gap
   means overfitting or leakage); `brier` for calibration of binary targets; `slices`; `leakage`.
3. FAIL exits 1: report the reasons, do not deploy. REVIEW: show the reasons and ask.
4. A model card over the runs: `loom report --runs ValidateFlow/N,CandidateRun/M --json` -> `html_path`.""",
        ("validate", "report", "runs", "show", "card"),
    ),
    Skill(
        "loom-pipeline",
        "Run Loom's whole lifecycle on a dataset in one go: ingest, eda, features, a search run, validate and "
        "a model card, each stage gated on the one before (loom pipeline). Use when the user wants an "
        "end-to-end model with checks, from raw data to a report.",
        ("Read", "Bash(loom pipeline --search baseline:*)", "Bash(loom ingest:*)", "Bash(loom datasets:*)",
         "Bash(loom runs:*)", "Bash(loom show:*)", "Bash(loom doctor:*)"),
        """# The whole lifecycle with Loom

1. `loom pipeline --source DIR --goal "Predict <target>" --metric "Maximize ROC-AUC" --search baseline --steps 3 --json`
   (or `--dataset IngestDataset/N` for data already ingested).
2. Read `stages`: one {stage, status, pathspec, verdict, detail} per stage (ingest, eda, features, run,
   validate, report); `failed_stage` names the first failure, later stages are SKIPPED.
   `extras.report` is the model card's HTML path; `extras.search_run` the run id.
3. A FAILED validate stage (VERDICT FAIL) stops the pipeline on purpose: report the detail.
4. With `--search aide` the run stage calls an LLM: ask the human first.""",
        ("pipeline", "ingest", "datasets", "runs", "show", "doctor"),
    ),
)
