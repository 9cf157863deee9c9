"""The body of CandidateRun's one working step, kept out of the flow file so it stays small.

Runs inside the step's process, so it imports only what the step needs (no LoomConfig, no
pydantic-settings): the sandbox choice, LOOM_HOME, limits and redaction digests all arrive as
flow parameters. The CandidateInput data object is materialized once per machine into
`input_cache` (when the caller passes one: a local run) and then bound read-only as ./input
(bwrap) or copied (none); a remote step (`--with kubernetes`) materializes it into its own folder.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

#: Where a candidate may leave its submission (AIDE-style candidates use ./submission/).
SUBMISSIONS = ("working/submission.csv", "submission/submission.csv")
OUTPUTS_MAX_BYTES = 256 * 1024**2  # what the candidate wrote in ./working that is kept (oof.csv, ...)


def outputs(working: Path) -> dict[str, bytes]:
    """{relative path: bytes} of the regular files the candidate wrote in ./working (no submission,
    no symlink, no dotfile), up to OUTPUTS_MAX_BYTES in all: what later candidates may be shown."""
    found: dict[str, bytes] = {}
    left = OUTPUTS_MAX_BYTES
    if not working.is_dir():
        return found
    for path in sorted(working.rglob("*")):
        rel = path.relative_to(working)
        if (path.is_symlink() or not path.is_file() or rel.as_posix() == "submission.csv"
                or any(part.startswith(".") for part in rel.parts)):
            continue
        size = path.stat().st_size
        if size <= left:
            found[rel.as_posix()] = path.read_bytes()
            left -= size
    return found


def write_input(input_ref: str, dest: Path) -> None:
    """Write the files of a CandidateInput data object (read through the Client API) into dest."""
    from metaflow import Run, namespace

    namespace(None)
    for rel, blob in Run(input_ref).data.files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)


def cached_input(input_ref: str, cache_root: Path) -> Path:
    """The CandidateInput materialized under cache_root (once: later steps reuse it).

    A data object never changes, so its pathspec is the key. Written to a temp folder and renamed
    into place, so concurrent steps never see half an input.
    """
    final = cache_root / input_ref.replace("/", "-")
    if final.is_dir():
        return final
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=cache_root))
    try:
        write_input(input_ref, tmp)
        try:
            os.rename(tmp, final)
        except OSError:  # another step won the race: use its copy
            if not final.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def run(flow: Any) -> Any:
    """Run the candidate in the sandbox; set the result artifacts on `flow`; return its StepCard."""
    from loom.adapters.mlops.local import RUNFILE, WRITABLE, prepare_workspace, read_exception, to_result
    from loom.adapters.sandbox import bootstrap, process, select_named, written
    from loom.application.ports.sandbox import SandboxLimits, SandboxRequest, candidate_env, passthrough_names
    from loom.application.redaction import redact_digests

    spec = json.loads(flow.sandbox_spec or "{}")
    home = Path(spec.get("home") or tempfile.gettempdir())
    sandbox = select_named(spec.get("sandbox") or "auto", home)
    flow.sandbox = sandbox.name
    lim = SandboxLimits(memory_bytes=int(spec.get("memory_bytes") or 0), cpus=int(spec.get("cpus") or 1),
                        network=bool(spec.get("network")))
    python = sys.executable
    ws = Path(flow.workspace) if flow.workspace else Path(tempfile.mkdtemp(prefix="loom-candidate-"))
    try:
        ws.mkdir(parents=True, exist_ok=True)
        inputs: dict[str, Path] = {}
        if spec.get("input_cache"):
            cached = cached_input(flow.input_ref, Path(spec["input_cache"]))
            prepare_workspace(ws, flow.code, cached, copy_input=not sandbox.isolated)
            if sandbox.isolated:
                inputs["input"] = cached
        else:
            prepare_workspace(ws, flow.code, ws / "input", copy_input=False)
            write_input(flow.input_ref, ws / "input")
        print("loom-progress: input materialized", flush=True)
        request = SandboxRequest(
            argv=bootstrap.argv(python, RUNFILE, lim.memory_bytes), workdir=ws,
            env=candidate_env(ws, cpus=lim.cpus, python=python, passthrough=passthrough_names(spec.get("env")),
                              extra={"LOOM_RUN_ID": flow.search_run, "LOOM_NODE_ID": flow.node}),
            limits=lim, writable=WRITABLE, python=python, inputs=inputs,
        )
        pool = None
        if spec.get("warm"):  # a local step: fork the candidate from Loom's warm interpreter (warm_relay.py)
            from loom.adapters.sandbox.warm_relay import RemotePool

            pool = RemotePool(spec["warm"])
        out = process.run(sandbox, request, timeout=flow.exec_timeout, token=flow.sweep_id or None, pool=pool)
        result = to_result(out, read_exception(ws), flow.exec_timeout, None, ws)
        digests = json.loads(flow.redact_spec or "[]")
        flow.exec_time = round(result.exec_time, 3)
        print(f"loom-progress: candidate finished in {flow.exec_time:.2f}s", flush=True)
        flow.timed_out = result.timed_out
        flow.exit_code = result.exit_code
        flow.stdout = redact_digests(result.stdout, digests)
        flow.stderr = redact_digests(result.stderr, digests)
        flow.exc_type = result.exc_type
        flow.exc_message = redact_digests(result.exc_message, digests)
        flow.exc_trace = redact_digests(result.exc_trace, digests)
        if not flow.exc_type and flow.exit_code not in (0, None):
            flow.exc_type, flow.exc_message = "ProcessExit", f"exit code {flow.exit_code}"
        # read from the folder without following links: the step runs outside the sandbox, where a
        # planted symlink would reach the sealed labels or this process's own environment
        sub = next((data for rel in SUBMISSIONS if (data := written.read_regular(ws, rel)) is not None), None)
        flow.submission = redact_digests(sub.decode("utf-8", errors="replace"), digests) if sub is not None else None
        flow.metric = metric_from(flow.stdout)
        flow.outputs = outputs(ws / "working")
    finally:
        shutil.rmtree(ws, ignore_errors=True)
    return card(flow)


def card(flow: Any) -> Any:
    """The candidate's card: status and metric, the exception, the code, the output tail."""
    from metaflow.cards import Markdown, PythonCode

    from loom.adapters.shared.card_text import block, lit
    from loom.adapters.shared.metaflow_card import StepCard

    status = "timed out" if flow.timed_out else ("crashed: " + str(flow.exc_type) if flow.exc_type else "ok")
    metric = "n/a" if flow.metric is None else f"{flow.metric:.6g}"
    c = StepCard("candidate")
    c.append(Markdown(
        f"# Candidate {lit(flow.node or '?')} · search run {lit(flow.search_run or '?')}\n\n"
        f"**metric** {lit(metric)} · **status** {lit(status)} · **exec time** {flow.exec_time:.2f}s · "
        f"**submission** {'written' if flow.submission else 'none'} · **sandbox** {lit(flow.sandbox)}"
    ))
    if flow.exc_type:
        c.append(Markdown(f"## Exception\n\n{lit(f'{flow.exc_type}: {str(flow.exc_message)[:500]}')}"))
    c.append(Markdown("## Code"))
    c.append(PythonCode(code_string=flow.code))
    tail = flow.stdout[-6000:] + ("\n" + flow.stderr[-4000:] if flow.stderr else "")
    c.append(Markdown("## Output\n\n" + block(tail or "(no output)")))
    return c


def metric_from(stdout: str) -> float | None:
    """The last number on the last line that names a metric (best effort, for the card and report)."""
    import re

    keys = re.compile(r"(metric|score|auc|acc|accuracy|rmse|mae|mse|f1|loss|r2|r\^2|valid|val\b)", re.I)
    num = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
    for line in reversed(stdout.splitlines()):
        if keys.search(line):
            found = num.findall(keys.split(line, maxsplit=1)[-1]) or num.findall(line)
            if found:
                try:
                    return float(found[-1])
                except ValueError:
                    continue
    return None
