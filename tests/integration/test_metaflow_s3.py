"""The whole lifecycle against an S3 datastore: a real S3-compatible server on loopback (moto).

The fixture starts `moto_server`, writes the Metaflow profile a user would write
(tests/fakes/s3_server.py: S3 datastore, endpoint, card root, local metadata outside LOOM_HOME)
and selects it with METAFLOW_PROFILE. Every verb runs as the `loom` a user types, in its own
process: ingest, run --mlops metaflow, eda, features, validate, train (local builder), report,
runs/show/card, doctor. Artifacts and cards are then read back through Metaflow's Client API in a
fresh process under the same profile, and the bucket is listed directly: every run's data and
card are in S3, and nothing is written under LOOM_HOME's local datastore.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

pytest.importorskip("moto")
pytest.importorskip("metaflow")
pytest.importorskip("sklearn")

from tests.fakes.s3_server import S3Server, profile_env, write_profile  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
LOOM = [sys.executable, "-m", "loom.entrypoints.cli.app"]


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory):
    """moto on loopback + a profile selecting it; env for `loom` processes; stopped at the end."""
    root = tmp_path_factory.mktemp("s3_world")
    server = S3Server(root / "moto").start()
    write_profile(server, root / "metaflowconfig", root / "metadata")
    keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(profile_env(root / "metaflowconfig"), LOOM_HOME=str(root / "home"), USER="tester",
               LOOM_SANDBOX="none", PYTHONUNBUFFERED="1")
    (root / "work").mkdir()
    yield {"root": root, "server": server, "env": env, "home": root / "home", "work": root / "work"}
    server.stop()


def loom(s3, *argv: str, extra: dict[str, str] | None = None, check: bool = True) -> tuple[int, dict | str, str]:
    proc = subprocess.run([*LOOM, *argv], capture_output=True, text=True, cwd=s3["work"],
                          env={**s3["env"], **(extra or {})}, timeout=900)
    if check:
        assert proc.returncode == 0, f"loom {' '.join(argv)} -> {proc.returncode}\n{proc.stderr[-3000:]}"
    out: dict | str = proc.stdout
    if "--json" in argv and proc.stdout.strip():
        out = json.loads(proc.stdout)
    return proc.returncode, out, proc.stderr


def client(s3, code: str) -> dict:
    """Run Client-API code in a fresh process under the profile; it prints one JSON object."""
    script = "import json\nfrom metaflow import namespace\nnamespace(None)\n" + code
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=s3["work"],
                          env=s3["env"], timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def lifecycle(s3):
    """Every verb once, in order, as a user would run them; the pathspecs they printed."""
    data = s3["root"] / "loans"
    subprocess.run([sys.executable, str(ROOT / "examples/leaky_loans/make_data.py"), str(data)], check=True,
                   capture_output=True)
    events = s3["root"] / "events"
    subprocess.run([sys.executable, str(ROOT / "examples/events/make_data.py"), "--out", str(events)], check=True,
                   capture_output=True)
    out: dict[str, dict] = {}
    _, out["ingest"], _ = loom(s3, "--json", "ingest", "--source", str(data))
    raw = out["ingest"]["pathspec"]
    _, out["eda"], _ = loom(s3, "--json", "eda", "--dataset", raw)
    _, out["features"], _ = loom(s3, "--json", "features", "--dataset", raw, "--from", out["eda"]["pathspec"])
    feats = out["features"]["pathspec"]
    _, out["run"], _ = loom(s3, "--json", "run", "--search", "baseline", "--mlops", "metaflow", "--dataset", feats,
                            "--goal", "predict defaulted", "--metric", "Maximize ROC-AUC", "--steps", "2",
                            "--experiment-id", "exp-s3")
    _, out["validate"], _ = loom(s3, "--json", "validate", "--dataset", feats)
    _, out["events"], _ = loom(s3, "--json", "ingest", "--source", str(events), "--target", "churned")
    _, out["train"], _ = loom(s3, "--json", "train", "--dataset", out["events"]["pathspec"], "--budget", "probe",
                              extra={"LOOM_MODEL_BUILDER_PROVIDER": "local"})
    _, out["report"], _ = loom(s3, "--json", "report", "--experiment", "exp-s3")
    return out


def _runs(lifecycle) -> list[str]:
    lc = lifecycle
    return [lc["ingest"]["pathspec"], lc["eda"]["pathspec"], lc["features"]["pathspec"],
            lc["validate"]["pathspec"], lc["events"]["pathspec"], lc["train"]["pathspec"], lc["report"]["pathspec"],
            *lc["report"]["runs"]]


def test_every_verb_ran_and_nothing_went_to_the_local_datastore(s3, lifecycle):
    assert lifecycle["ingest"]["pathspec"].startswith("IngestDataset/")
    assert lifecycle["features"]["pathspec"].startswith("FeaturesFlow/")
    assert lifecycle["validate"]["verdict"] in ("PASS", "REVIEW")
    assert lifecycle["train"]["status"] == "BUILT" and lifecycle["train"]["pathspec"].startswith("TrainBackbone/")
    assert lifecycle["run"]["status"] == "OK" and lifecycle["run"]["metric"]["name"] == "roc_auc"
    candidates = lifecycle["report"]["runs"]
    assert len(candidates) == 3 and all(r.startswith("CandidateRun/") for r in candidates)  # 2 nodes + the refit
    assert not (s3["home"] / "metaflow").exists()  # LOOM_HOME's embedded datastore was never touched
    assert not list(s3["work"].rglob(".metaflow"))  # nor a datastore in the working directory


def test_artifacts_and_cards_of_every_run_are_in_the_bucket(s3, lifecycle):
    keys = s3["server"].keys("metaflow/")
    for pathspec in _runs(lifecycle):
        flow, run_id = pathspec.split("/")
        assert any(k.startswith(f"metaflow/{flow}/{run_id}/start/") for k in keys), pathspec
        assert any(k.startswith(f"metaflow/{flow}/data/") for k in keys), pathspec
        cards = [k for k in keys if k.startswith(f"metaflow/mf.cards/{flow}/runs/{run_id}/") and k.endswith(".html")]
        assert len(cards) == 1, (pathspec, cards)  # one card per run


def test_client_api_reads_artifacts_and_cards_back_from_s3(s3, lifecycle):
    got = client(s3, f"""
from metaflow import Run
from metaflow.cards import get_cards
raw = Run({lifecycle['ingest']['pathspec']!r})
cand = Run({lifecycle['report']['runs'][0]!r})
task = cand['start'].task
cards = list(get_cards(task))
print(json.dumps({{
    "train_shape": list(raw.data.train.shape), "train_type": type(raw.data.train).__name__,
    "ds_type": task.metadata_dict.get("ds-type"), "ds_root": task.metadata_dict.get("ds-root"),
    "metric": cand.data.metric, "successful": cand.successful, "tags": sorted(cand.user_tags),
    "card_html": cards[0].get()[:200000] if cards else "",
    "eda_leaks": len(Run({lifecycle['eda']['pathspec']!r}).data.leakage),
}}))
""")
    assert got["train_shape"] == [2400, 13] and got["train_type"] == "DataFrame"
    assert got["ds_type"] == "s3" and got["ds_root"] == f"s3://{s3['server'].bucket}/metaflow"
    assert got["successful"] and isinstance(got["metric"], float) and "experiment:exp-s3" in got["tags"]
    assert "<html" in got["card_html"].lower() and "__MF_DATA__" in got["card_html"]
    assert got["eda_leaks"] >= 3


def test_browse_views_read_from_s3(s3, lifecycle):
    _, runs, _ = loom(s3, "--json", "runs")
    listed = {r["pathspec"] for r in runs["runs"]}
    assert set(_runs(lifecycle)) <= listed
    _, shown, _ = loom(s3, "--json", "show", lifecycle["features"]["pathspec"])
    assert shown["steps"] == ["start", "end"] and shown["artifacts"]["train"]["type"] == "DataFrame"
    assert shown["cards"] and Path(shown["cards"][0]).is_file()
    _, card, _ = loom(s3, "card", lifecycle["validate"]["pathspec"])
    html = Path(card.strip()).read_text(encoding="utf-8")
    assert "<html" in html.lower() and "data:image/png;base64" in html  # fetched from the bucket, plots inside
    _, datasets, _ = loom(s3, "--json", "datasets")
    assert {lifecycle["ingest"]["pathspec"], lifecycle["features"]["pathspec"]} <= {
        d["pathspec"] for d in datasets["datasets"]}


def test_doctor_reports_the_profile_and_a_reachable_store_then_fails_when_it_is_down(s3, lifecycle):
    code, report, _ = loom(s3, "--json", "doctor", "--mlops", "metaflow", "--search", "baseline", check=False)
    lines = {c["subject"]: c for c in report["checks"] if c["port"] == "mlops"}
    assert lines["metaflow profile"]["level"] == "PASS" and "loom-s3-test" in lines["metaflow profile"]["detail"]
    store = lines["metaflow datastore"]
    assert store["level"] == "PASS" and f"s3://{s3['server'].bucket}/metaflow" in store["detail"]
    assert "reachable" in store["detail"] and s3["server"].endpoint in store["detail"]
    assert lines["metaflow metadata"]["level"] == "WARN" and "local" in lines["metaflow metadata"]["detail"]
    dead = S3Server(s3["root"] / "dead")  # a port nobody listens on
    write_profile(dead, s3["root"] / "deadconfig", s3["root"] / "metadata")
    env = profile_env(s3["root"] / "deadconfig")
    code, report, _ = loom(s3, "--json", "doctor", "--mlops", "metaflow", "--search", "baseline", extra=env,
                           check=False)
    store = next(c for c in report["checks"] if c["subject"] == "metaflow datastore")
    assert code == 2 and report["status"] == "FAIL" and store["level"] == "FAIL"
    assert "not reachable" in store["detail"] and "METAFLOW_S3_ENDPOINT_URL" in store["fix"]


def test_pipeline_schedule_compiles_an_argo_workflows_template_offline(s3, lifecycle):
    """`loom pipeline --schedule CRON --deploy argo`: Metaflow's Deployer, `argo-workflows create --only-json`."""
    pytest.importorskip("kubernetes")
    _, out, _ = loom(s3, "--json", "pipeline", "--schedule", "15 3 * * 1", "--deploy", "argo",
                     "--dataset", lifecycle["features"]["pathspec"], "--goal", "predict defaulted",
                     "--metric", "Maximize ROC-AUC", "--search", "baseline", "--steps", "2",
                     extra={"LOOM_METAFLOW_WITH": "kubernetes:cpu=2,memory=4096"})
    assert out["status"] == "OK" and out["applied"] is False and out["orchestrator"] == "argo-workflows"
    template = json.loads(Path(out["template_path"]).read_text())
    assert template["kind"] == "WorkflowTemplate" and template["metadata"]["name"] == out["name"]
    annotations = template["metadata"]["annotations"]
    assert json.loads(annotations["metaflow/cron"])["schedule"] == "15 3 * * 1"
    steps = {t["name"]: t for t in template["spec"]["templates"] if "container" in t}
    assert {"start", "end"} <= set(steps)
    start = steps["start"]["container"]
    command = " ".join(start["command"] + (start.get("args") or []))
    assert "loom_pipeline.py" in command and "step start" in command
    assert start["resources"]["requests"]["cpu"] == "2" and start["resources"]["requests"]["memory"] == "4096M"
    env = {e["name"]: e.get("value") for e in start["env"]}
    assert env["METAFLOW_DATASTORE_SYSROOT_S3"] == f"s3://{s3['server'].bucket}/metaflow"
    assert env["METAFLOW_DEFAULT_DATASTORE"] == "s3" and env["METAFLOW_S3_ENDPOINT_URL"] == s3["server"].endpoint
    # the code package the pods fetch is in the bucket, and carries the pipeline's arguments (its Config)
    url = env["METAFLOW_CODE_URL"]
    assert url.startswith(f"s3://{s3['server'].bucket}/metaflow/LoomPipeline/data/")
    blob = s3["server"].client().get_object(Bucket=s3["server"].bucket, Key=url.split("/", 3)[3])["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        texts = [tar.extractfile(m).read().decode("utf-8", "replace") for m in tar.getmembers() if m.isfile()]
    assert any(lifecycle["features"]["pathspec"] in t and "15 3 * * 1" in t for t in texts)
    assert any("class LoomPipeline" in t for t in texts)
