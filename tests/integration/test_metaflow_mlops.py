"""Metaflow MLOps on a temp local datastore: real flows, read back with the Client API.

One module-scoped datastore; the expensive runs (3 ingests, 1 candidate input, 2 candidates)
happen once and every test reads them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("metaflow")

from loom.application.ports.mlops import DataStore, Executor, ExecRequest  # noqa: E402
from tests.fakes.env import clean_process_env  # noqa: E402

pytestmark = pytest.mark.slow

GOOD = """
import os, pandas as pd
train = pd.read_csv("input/train.csv")
os.makedirs("working", exist_ok=True)
pd.DataFrame({"id": [1, 2], "target": [0, 1]}).to_csv("working/submission.csv", index=False)
print("rows", len(train))
print("Validation accuracy: 0.8125")
"""
CRASH = "print('about to fail')\nraise ValueError('candidate exploded')\n"


def _write_data(root: Path) -> tuple[Path, Path]:
    rng = __import__("random").Random(7)
    n = 200
    df = pd.DataFrame({
        "id": range(n),
        "a": [rng.random() for _ in range(n)],
        "b": [rng.choice("xyz") for _ in range(n)],
        "target": [rng.randint(0, 1) for _ in range(n)],
    })
    data = root / "data"
    data.mkdir()
    df.iloc[:160].to_csv(data / "train.csv", index=False)
    df.iloc[160:].drop(columns="target").to_csv(data / "test.csv", index=False)
    df.iloc[160:][["id"]].assign(target=0).to_csv(data / "sample_submission.csv", index=False)
    single = root / "single.csv"
    df.to_csv(single, index=False)
    return data, single


@pytest.fixture(scope="module")
def world(metaflow_bed, tmp_path_factory: pytest.TempPathFactory):
    """In the session's shared datastore: two ingests of a data dir, one of a single CSV, three candidate runs."""
    root = tmp_path_factory.mktemp("mf_world")
    home, config, mlops = metaflow_bed["home"], metaflow_bed["config"], metaflow_bed["mlops"]
    with clean_process_env():
        data, single = _write_data(root)
        progress: list[str] = []
        first = mlops.ingest(data, name="toy", on_progress=progress.append)
        second = mlops.ingest(data)
        split = mlops.ingest(single, target="target")
        inputs = root / "inputs"
        mlops.materialize(first.pathspec, inputs)
        req = dict(input_dir=inputs, timeout=60, run_id="search-1", experiment_id="exp-9",
                   tags={"tenant": "acme", "owned_by": "ana"})
        good = mlops.execute(ExecRequest(code=GOOD, node_id="n-good", **req))
        crash = mlops.execute(ExecRequest(code=CRASH, node_id="n-crash", **req))
        hang = mlops.execute(ExecRequest(code="import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n",
                                         node_id="n-hang", **{**req, "timeout": 2}))
        mlops.drain()  # the runs' `end` steps finish after execute returns
    return dict(root=root, home=home, config=config, mlops=mlops, data=data, single=single,
                first=first, second=second, split=split, good=good, crash=crash, hang=hang,
                progress=progress, inputs=inputs)


def _client(world):
    import metaflow

    metaflow.metadata(f"local@{world['home'] / 'metaflow'}")
    metaflow.namespace(None)
    return metaflow


def test_adapter_implements_both_ports(world):
    assert isinstance(world["mlops"], Executor) and isinstance(world["mlops"], DataStore)


def test_ingest_dir_artifacts_read_back_with_client_api(world):
    mf = _client(world)
    first = world["first"]
    assert re.fullmatch(r"IngestDataset/\d+", first.pathspec)
    data = mf.Run(first.pathspec).data
    assert data.train.shape == (160, 4) and data.test.shape == (40, 3)
    assert list(data.sample_submission.columns) == ["id", "target"]
    assert data.schema["target"] == "target" and data.schema["id_columns"] == ["id"]
    assert data.schema["task_type"] == "classification"
    assert data.schema["rows"] == {"train": 160, "test": 40}
    assert {"name": "b", "dtype": "object"} in data.schema["columns"]
    assert data.dataset_name == "toy" and data.source == str(world["data"].resolve())
    assert re.fullmatch(r"[0-9a-f]{64}", data.fingerprint)
    assert any("reading train.csv" in p for p in world["progress"])


def _blob_meta(world, flow: str, artifact) -> dict:
    """The content-addressed store's metadata of an artifact's blob (local datastore)."""
    sha = artifact.sha
    return json.loads((world["home"] / "metaflow" / ".metaflow" / flow / "data" / sha[:2] / f"{sha}_meta").read_text())


def test_ingested_tables_are_stored_ungzipped_and_read_back_as_frames(world):
    mf = _client(world)
    for ingest, names in ((world["first"], ("train", "test", "sample_submission")), (world["split"], ("train", "test", "test_labels"))):
        task = mf.Run(ingest.pathspec)["start"].task
        for name in names:
            assert _blob_meta(world, "IngestDataset", task[name]) == {"cas_raw": True, "cas_version": 1}, name
            assert isinstance(task[name].data, pd.DataFrame)
        # small artifacts keep Metaflow's usual gzip
        assert _blob_meta(world, "IngestDataset", task["schema"])["cas_raw"] is False
    # what the Client read is cached under LOOM_HOME, private (Metaflow's default: one /tmp dir for every user)
    cache = world["home"] / "metaflow_client"
    assert cache.is_dir() and cache.stat().st_mode & 0o777 == 0o700
    assert any(p.suffix in (".cached", ".blob") for p in cache.rglob("*"))


def test_fingerprint_stable_across_ingests(world):
    assert world["first"].pathspec != world["second"].pathspec
    assert world["first"].fingerprint == world["second"].fingerprint
    assert world["split"].fingerprint != world["first"].fingerprint


def test_single_csv_is_split_seeded(world):
    mf = _client(world)
    data = mf.Run(world["split"].pathspec).data
    assert len(data.train) + len(data.test) == 200 and len(data.test) == 40
    assert "target" not in data.test.columns and len(data.test_labels) == 40
    assert data.sample_submission is None
    assert data.dataset_name == "single"


def test_materialize_writes_the_tables(world):
    files = sorted(p.name for p in world["inputs"].iterdir())
    assert files == ["sample_submission.csv", "test.csv", "train.csv"]
    assert len(pd.read_csv(world["inputs"] / "train.csv")) == 160


def test_candidate_run_stores_outcome_and_tags(world):
    good = world["good"]
    assert good.ok and good.exit_code == 0 and "rows 160" in good.stdout
    assert re.fullmatch(r"CandidateRun/\d+", good.pathspec or "")
    assert good.submission is not None and good.submission.read_text().startswith("id,target")
    run = _client(world).Run(good.pathspec)
    assert run.data.metric == pytest.approx(0.8125)
    assert run.data.code == GOOD
    assert {"loom_run:search-1", "experiment:exp-9", "tenant:acme", "owned_by:ana", "node:n-good"} <= set(run.user_tags)
    assert run.data.input_ref.startswith("CandidateInput/")


def test_crashing_candidate_is_a_result(world):
    crash = world["crash"]
    assert not crash.ok and crash.exit_code == 1
    assert crash.exc_type == "ValueError" and crash.exc_message == "candidate exploded"
    assert "Traceback" in (crash.exc_trace or "") and "about to fail" in crash.stdout
    assert crash.submission is None and crash.pathspec.startswith("CandidateRun/")
    # both candidates share one stored input (stored once per search)
    mf = _client(world)
    assert mf.Run(crash.pathspec).data.input_ref == mf.Run(world["good"].pathspec).data.input_ref


def test_hanging_candidate_is_killed_at_the_timeout(world):
    hang = world["hang"]
    assert hang.timed_out and not hang.ok and hang.exit_code is None
    assert hang.exc_type == "TimeoutError" and "sleeping" in hang.stdout
    assert 2 <= hang.exec_time < 100  # killed, not left to finish its 120 s sleep


def test_card_on_disk_is_self_contained_html(world):
    cards = world["mlops"].card(world["good"].pathspec)
    assert len(cards) == 1 and cards[0].is_file()
    assert str(world["home"]) in str(cards[0])
    html = cards[0].read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") or "<html" in html[:500].lower()
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?://", html, re.I)
    assert "candidate exploded" not in html  # the good candidate's card, not the other one


def test_card_renders_in_headless_chromium(world, tmp_path):
    from bench.card_render import distinct_colours, find_chromium, screenshot

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no chromium (apt-get install -y chromium); see bench/card_render.py")
    png = screenshot(world["mlops"].card(world["crash"].pathspec)[0], tmp_path / "card.png", chromium)
    assert distinct_colours(png) > 10  # a rendered page, not a blank one


# ---- the CLI ------------------------------------------------------------------------------
@pytest.fixture
def cli(world, monkeypatch, capsys):
    monkeypatch.setenv("LOOM_HOME", str(world["home"]))
    from loom.entrypoints.cli.app import app
    from loom.entrypoints.cli.common import Common, set_global
    from loom.entrypoints.cli.errors import run_guarded

    def call(*tokens: str) -> tuple[int, str, str]:
        set_global(Common())
        code = run_guarded(lambda: app.meta(list(tokens)), list(tokens))
        out, err = capsys.readouterr()
        return code, out, err

    return call


def test_cli_browse_views(world, cli):
    code, out, _ = cli("--json", "datasets")
    listed = {d["pathspec"]: d for d in json.loads(out)["datasets"]}
    assert code == 0 and {world["first"].pathspec, world["split"].pathspec} <= set(listed)
    assert listed[world["first"].pathspec]["fingerprint"] == world["first"].fingerprint
    code, out, _ = cli("runs", "--flow", "CandidateRun", "--json")
    listed = {r["pathspec"]: r for r in json.loads(out)["runs"]}
    assert code == 0 and {world["good"].pathspec, world["crash"].pathspec, world["hang"].pathspec} <= set(listed)
    assert {r["flow"] for r in listed.values()} == {"CandidateRun"}
    assert "loom_run:search-1" in listed[world["good"].pathspec]["tags"] and listed[world["good"].pathspec]["successful"]
    code, out, _ = cli("show", world["crash"].pathspec, "--json")
    shown = json.loads(out)
    assert code == 0 and shown["artifacts"]["exc_type"] == "ValueError" and shown["steps"] == ["start", "end"]
    code, out, _ = cli("card", world["good"].pathspec)
    assert code == 0 and Path(out.strip()).is_file()


def test_cli_ingest_prints_the_pathspec(world, cli):
    code, out, _ = cli("--json", "ingest", "--source", str(world["data"] / "train.csv"), "--name", "t1")
    payload = json.loads(out)
    assert code == 0 and payload["pathspec"].startswith("IngestDataset/") and payload["name"] == "t1"


@pytest.mark.parametrize("case", ["unknown", "wrong-flow", "unreadable", "no-target"])
def test_cli_bad_input_exits_2_with_one_line(world, cli, case, tmp_path):
    if case == "unknown":
        tokens = ["show", "IngestDataset/424242"]
    elif case == "wrong-flow":  # a candidate run is not a data object
        tokens = ["--json", "run", "--search", "baseline", "--mlops", "metaflow", "--dataset", world["good"].pathspec,
                  "--goal", "predict target", "--metric", "Maximize accuracy", "--steps", "1"]
    elif case == "unreadable":
        bad = tmp_path / "bad.csv"
        bad.write_bytes(b"\x00\x01\xff\xfe garbage \x00\n\x89PNG")
        tokens = ["ingest", "--source", str(bad)]
    else:
        tokens = ["ingest", "--source", str(world["single"]), "--target", "nope"]
    code, out, err = cli(*tokens)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("loom: ") and "Traceback" not in err


def test_local_provider_refuses_data_verbs(world, cli):
    code, _, err = cli("datasets", "--mlops", "local")
    assert code == 2 and "--mlops metaflow" in err


def test_loom_run_with_metaflow_makes_one_run_per_candidate(world, cli):
    code, out, err = cli("--json", "run", "--search", "baseline", "--mlops", "metaflow",
                         "--dataset", world["first"].pathspec, "--goal", "predict target",
                         "--metric", "Maximize accuracy", "--steps", "2", "--experiment-id", "exp-run")
    assert code == 0, err
    mf = _client(world)
    runs = [r for r in mf.Flow("CandidateRun").runs() if "experiment:exp-run" in r.user_tags]
    refits = [r for r in runs if any(t.startswith("node:") and t.endswith("-refit") for t in r.user_tags)]
    assert len(runs) == 3 and all(r.successful for r in runs)  # two candidates, and the best refit on every row
    best = json.loads(out)["best"]["node_id"]
    assert len(refits) == 1 and f"node:{best}-refit" in refits[0].user_tags
    for run in runs:
        assert world["mlops"].card(run.pathspec)[0].is_file()
        assert run.data.metric_name == "accuracy" and run.data.greater_is_better is True


def test_load_tables_refuses_runs_that_are_not_data_objects(world):
    from loom.domain.errors import UsageError

    mlops = world["mlops"]
    tables = mlops.load_tables(world["split"].pathspec)
    assert tables.schema["target"] == "target" and tables.fingerprint == world["split"].fingerprint
    with pytest.raises(UsageError, match="not a data object"):
        mlops.load_tables(world["good"].pathspec)
    with pytest.raises(UsageError, match="not found"):
        mlops.materialize("IngestDataset/1", world["root"] / "nowhere")


def test_loom_run_with_data_dir_on_metaflow_ingests_first_and_says_so(world, cli):
    mf = _client(world)
    before = {r.pathspec for r in mf.Flow("IngestDataset").runs()}
    code, out, err = cli("run", "--search", "baseline", "--mlops", "metaflow", "--data", str(world["data"]),
                         "--goal", "predict target", "--metric", "Minimize log loss", "--steps", "1",
                         "--experiment-id", "exp-ingest-first")
    assert code == 0, err
    new = [r for r in _client(world).Flow("IngestDataset").runs() if r.pathspec not in before]
    assert len(new) == 1 and new[0].data.source == str(world["data"].resolve())
    assert f"as {new[0].pathspec}" in out + err  # the user is told what was ingested
    manifests = [json.loads(p.read_text()) for p in (world["home"] / "runs").glob("*/manifest.json")]
    assert any(m.get("inputs", {}).get("dataset") == new[0].pathspec for m in manifests)
    (candidate,) = [r for r in _client(world).Flow("CandidateRun").runs() if "experiment:exp-ingest-first" in r.user_tags
                    and not any(t.endswith("-refit") for t in r.user_tags)]  # the one candidate, not its refit
    assert candidate.data.metric_name == "log_loss" and candidate.data.greater_is_better is False
