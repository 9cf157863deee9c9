"""CandidateRun: one search candidate = one run of this ONE static flow.

The candidate's code enters as data (IncludeFile `code`), its input as the pathspec of a
CandidateInput data object materialized to ./input inside the step. The step runs the code as
a child process (cwd = a fresh workspace with ./input and ./working) with the exec timeout,
killing its process group past it. Artifacts: code, stdout, stderr, exit_code, timed_out,
exec_time, exc_type, exc_message, exc_trace, metric (parsed from stdout, best effort),
submission (the text of working/submission.csv or None). The @card shows code, output, metric.
A crashing candidate is a successful run of this flow with exc_type set.
"""

from metaflow import FlowSpec, IncludeFile, Parameter, card, current, step

# Runs the candidate and records an uncaught exception as JSON (type, message, trace).
_WRAPPER = r"""
import json, runpy, sys, traceback
script, exc_file = sys.argv[1], sys.argv[2]
sys.argv = [script]
sys.path.insert(0, ".")
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as e:
    if e.code not in (None, 0):
        with open(exc_file, "w") as f:
            json.dump({"type": "SystemExit", "message": str(e.code), "trace": ""}, f)
    raise
except BaseException as e:
    with open(exc_file, "w") as f:
        json.dump({"type": type(e).__name__, "message": str(e)[:4000],
                   "trace": traceback.format_exc()[-20000:]}, f)
    raise
"""

_HEAD, _TAIL = 16_000, 48_000  # bounded output kept per stream


def _bounded(text):
    if len(text) <= _HEAD + _TAIL:
        return text
    return text[:_HEAD] + f"\n... [{len(text) - _HEAD - _TAIL} characters cut] ...\n" + text[-_TAIL:]


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


class CandidateRun(FlowSpec):
    code = IncludeFile("code", help="The candidate's Python source", is_text=True, encoding="utf-8", required=True)
    input_ref = Parameter("input", help="Pathspec of the CandidateInput holding ./input", required=True)
    exec_timeout = Parameter("timeout", help="Seconds before the candidate is killed", default=600.0, type=float)
    node = Parameter("node", help="Search node id", default="")
    search_run = Parameter("search-run", help="Search run id", default="")
    metric_name = Parameter("metric-name", help="The search's metric (roc_auc, rmse, ...)", default="")
    direction = Parameter("direction", help="maximize | minimize", default="maximize")

    @card(type="blank", id="candidate")
    @step
    def start(self):
        import json
        import os
        import shutil
        import signal
        import subprocess
        import sys
        import tempfile
        import time
        from pathlib import Path

        from metaflow import Run, namespace

        namespace(None)
        self.greater_is_better = self.direction != "minimize"  # read by `loom report`
        ws = Path(tempfile.mkdtemp(prefix="loom-candidate-"))
        try:
            for rel, blob in Run(self.input_ref).data.files.items():
                dest = ws / "input" / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(blob)
            (ws / "input").mkdir(exist_ok=True)
            print("loom-progress: input materialized", flush=True)
            (ws / "working").mkdir()
            (ws / "runfile.py").write_text(self.code, encoding="utf-8")
            exc_file = ws / ".loom_exception.json"
            out_path, err_path = ws / ".stdout", ws / ".stderr"
            t0 = time.monotonic()
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                proc = subprocess.Popen(
                    [sys.executable, "-c", _WRAPPER, "runfile.py", str(exc_file)],
                    cwd=ws, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True,
                )
                self.timed_out = False
                try:
                    proc.wait(timeout=self.exec_timeout)
                except subprocess.TimeoutExpired:
                    self.timed_out = True
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait()
            self.exec_time = round(time.monotonic() - t0, 3)
            print(f"loom-progress: candidate finished in {self.exec_time:.2f}s", flush=True)
            self.exit_code = None if self.timed_out else proc.returncode
            self.stdout = _bounded(out_path.read_text(encoding="utf-8", errors="replace"))
            self.stderr = _bounded(err_path.read_text(encoding="utf-8", errors="replace"))
            exc = json.loads(exc_file.read_text()) if exc_file.is_file() else {}
            if self.timed_out:
                exc = {"type": "TimeoutError", "message": f"killed after {self.exec_timeout:.0f}s", "trace": ""}
            elif not exc and self.exit_code not in (0, None):
                exc = {"type": "ProcessExit", "message": f"exit code {self.exit_code}", "trace": ""}
            self.exc_type, self.exc_message, self.exc_trace = exc.get("type"), exc.get("message"), exc.get("trace")
            sub = ws / "working" / "submission.csv"
            self.submission = sub.read_text(encoding="utf-8", errors="replace") if sub.is_file() else None
            self.metric = _metric(self.stdout)
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
