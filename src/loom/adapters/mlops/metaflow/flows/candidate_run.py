"""CandidateRun: one search candidate = one run of this ONE static flow.

The candidate's code enters as data (IncludeFile `code`), its input as the pathspec of a
CandidateInput data object materialized to ./input inside the step. The step runs the code inside
the candidate sandbox (LOOM_SANDBOX: bwrap or none), exactly as the local executor does: the
bootstrap caps memory and records an uncaught exception, the wall timeout and a cancel kill the
whole process tree, and the environment is an allowlist without secrets. Artifacts: code, stdout,
stderr, exit_code, timed_out, exec_time, exc_type, exc_message, exc_trace, metric (parsed from
stdout, best effort), submission (the text of working/submission.csv or None), outputs (the other
files it wrote in ./working, e.g. out-of-fold predictions), sandbox (which one ran it). Output is redacted by the digests of the secrets Loom knows (the step never holds the
secrets themselves). The @card shows code, output, metric. A crashing candidate is a successful
run of this flow with exc_type set.
"""

from metaflow import FlowSpec, IncludeFile, Parameter, card, current, step


def _metric(stdout):
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


OUTPUTS_MAX_BYTES = 256 * 1024**2  # what the candidate wrote in ./working that is kept (oof.csv, ...)


def _outputs(working):
    """{relative path: bytes} of the regular files the candidate wrote in ./working (no submission,
    no symlink, no dotfile), up to OUTPUTS_MAX_BYTES in all: what later candidates may be shown."""
    found, left = {}, OUTPUTS_MAX_BYTES
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


class CandidateRun(FlowSpec):
    code = IncludeFile("code", help="The candidate's Python source", is_text=True, encoding="utf-8", required=True)
    input_ref = Parameter("input", help="Pathspec of the CandidateInput holding ./input", required=True)
    exec_timeout = Parameter("timeout", help="Seconds before the candidate is killed", default=600.0, type=float)
    node = Parameter("node", help="Search node id", default="")
    search_run = Parameter("search-run", help="Search run id", default="")
    metric_name = Parameter("metric-name", help="The search's metric (roc_auc, rmse, ...)", default="")
    direction = Parameter("direction", help="maximize | minimize", default="maximize")
    sandbox_spec = Parameter("sandbox", help="JSON: sandbox choice, memory_bytes, cpus, network, env names",
                             default="{}")
    workspace = Parameter("workspace", help="Folder to run in (created and removed by the caller; "
                                            "empty: a temp folder)", default="")
    sweep_id = Parameter("sweep-id", help="Marker of the candidate's process tree (the caller sweeps it)",
                         default="")
    redact_spec = Parameter("redact", help="JSON [[length, sha256, NAME], ...] of secrets to redact",
                            default="[]")

    @card(type="blank", id="candidate")
    @step
    def start(self):
        import json
        import shutil
        import sys
        import tempfile
        from pathlib import Path

        from metaflow import Run, namespace

        from loom.adapters.mlops.local import RUNFILE, WRITABLE, prepare_workspace, read_exception, to_result
        from loom.adapters.sandbox import bootstrap, process
        from loom.adapters.sandbox import select as select_sandbox
        from loom.application.config import LoomConfig
        from loom.application.ports.sandbox import SandboxLimits, SandboxRequest, candidate_env, passthrough_names
        from loom.application.redaction import redact_digests

        namespace(None)
        self.greater_is_better = self.direction != "minimize"  # read by `loom report`
        spec = json.loads(self.sandbox_spec or "{}")
        config = LoomConfig.load(env_file=None, flags={k: spec[k] for k in ("sandbox", "home") if spec.get(k)})
        sandbox = select_sandbox(config)
        self.sandbox = sandbox.name
        lim = SandboxLimits(memory_bytes=int(spec.get("memory_bytes") or 0), cpus=int(spec.get("cpus") or 1),
                            network=bool(spec.get("network")))
        python = sys.executable
        ws = Path(self.workspace) if self.workspace else Path(tempfile.mkdtemp(prefix="loom-candidate-"))
        try:
            ws.mkdir(parents=True, exist_ok=True)
            prepare_workspace(ws, self.code, ws / "input", copy_input=False)
            for rel, blob in Run(self.input_ref).data.files.items():
                dest = ws / "input" / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(blob)
            print("loom-progress: input materialized", flush=True)
            request = SandboxRequest(
                argv=bootstrap.argv(python, RUNFILE, lim.memory_bytes), workdir=ws,
                env=candidate_env(ws, cpus=lim.cpus, python=python, passthrough=passthrough_names(spec.get("env")),
                                  extra={"LOOM_RUN_ID": self.search_run, "LOOM_NODE_ID": self.node}),
                limits=lim, writable=WRITABLE, python=python,
            )
            out = process.run(sandbox, request, timeout=self.exec_timeout, token=self.sweep_id or None)
            result = to_result(out, read_exception(ws), self.exec_timeout, None, ws)
            digests = json.loads(self.redact_spec or "[]")
            self.exec_time = round(result.exec_time, 3)
            print(f"loom-progress: candidate finished in {self.exec_time:.2f}s", flush=True)
            self.timed_out = result.timed_out
            self.exit_code = result.exit_code
            self.stdout = redact_digests(result.stdout, digests)
            self.stderr = redact_digests(result.stderr, digests)
            self.exc_type = result.exc_type
            self.exc_message = redact_digests(result.exc_message, digests)
            self.exc_trace = redact_digests(result.exc_trace, digests)
            if not self.exc_type and self.exit_code not in (0, None):
                self.exc_type, self.exc_message = "ProcessExit", f"exit code {self.exit_code}"
            sub = next((ws / rel for rel in ("working/submission.csv", "submission/submission.csv")
                        if (ws / rel).is_file()), None)
            self.submission = redact_digests(sub.read_text(encoding="utf-8", errors="replace"), digests) if sub else None
            self.metric = _metric(self.stdout)
            self.outputs = _outputs(ws / "working")
        finally:
            shutil.rmtree(ws, ignore_errors=True)
        self._card()
        print("loom-progress: storing results", flush=True)
        self.next(self.end)

    def _card(self):
        from metaflow.cards import Markdown, PythonCode

        status = "timed out" if self.timed_out else ("crashed: " + str(self.exc_type) if self.exc_type else "ok")
        metric = "n/a" if self.metric is None else f"{self.metric:.6g}"
        current.card.append(Markdown(
            f"# Candidate `{self.node or '?'}` · search run `{self.search_run or '?'}`\n\n"
            f"**metric** {metric} · **status** {status} · **exec time** {self.exec_time:.2f}s · "
            f"**submission** {'written' if self.submission else 'none'}"
        ))
        if self.exc_type:
            current.card.append(Markdown(f"## Exception\n\n`{self.exc_type}: {str(self.exc_message)[:500]}`"))
        current.card.append(Markdown("## Code"))
        current.card.append(PythonCode(code_string=self.code))
        tail = (self.stdout[-6000:] + ("\n" + self.stderr[-4000:] if self.stderr else "")).replace("```", "'''")
        current.card.append(Markdown("## Output\n\n```\n" + (tail or "(no output)") + "\n```"))

    @step
    def end(self):
        pass


if __name__ == "__main__":
    CandidateRun()
