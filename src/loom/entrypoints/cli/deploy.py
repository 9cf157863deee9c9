"""`loom deploy`: gate, plan, and (with --apply) deploy."""

from __future__ import annotations

from typing import Annotated

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, container_for, effective, emit, load_config


def deploy(
    *,
    validate: Annotated[str | None, Parameter(help="A validate run whose verdict gates the deploy (ValidateFlow/N).")] = None,
    solution: Annotated[str | None, Parameter(help="The solution to deploy (its latest validate run gates it).")] = None,
    apply: Annotated[bool, Parameter(negative="", help="Perform the deployment (default: PLAN only).")] = False,
    serve: Annotated[bool, Parameter(negative="", help="With --apply: serve predictions over HTTP (POST /predict).")] = False,
    score: Annotated[str | None, Parameter(help="With --apply: a dataset to batch-score.")] = None,
    floor: Annotated[float | None, Parameter(help="Refuse when the holdout metric is below this.")] = None,
    host: Annotated[str, Parameter(help="With --serve: the address to listen on.")] = "127.0.0.1",
    port: Annotated[int, Parameter(help="With --serve: the port to listen on (1-65535).")] = 8089,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Gate, plan and (with --apply) deploy a solution for batch scoring or serving.

    The gate ALLOWs only when the upstream validate verdict is PASS (and the holdout clears
    --floor); a refusal exits 3 with the reasons. By default: PLAN — DeployFlow stages a
    manifest (model ref, lineage, metric) under LOOM_HOME/deployments/, no side effect.
    --apply --score P runs BatchScoreFlow over P (predictions artifact + CSV); --apply --serve
    serves POST /predict and GET /health on --host:--port until interrupted.
    """
    from loom.entrypoints.cli.lifecycle_view import payload, run_quiet, styled
    from loom.entrypoints.cli.ports import check_port

    if serve:
        check_port(port)  # before the gate and DeployFlow run: nothing is recorded for a bad port
    config = load_config(common)
    use_case = container_for(config).deploy_solution()
    r = run_quiet(common, "deploying ..." if apply else "planning ...",
                  lambda: use_case(validate=validate, solution=solution, apply=apply, score=score, serve=serve,
                                   floor=floor))

    def human(out) -> None:  # type: ignore[no-untyped-def]
        m = r.manifest
        out.print(f"gate {styled(r.gate.value)}: " + "; ".join(r.reasons))
        out.print(f"{styled(r.status)} {m.get('deployment')}: solution {m['solution']} trained on {m['dataset']} "
                  f"({m.get('metric')} holdout {m.get('holdout_score')})")
        out.print(f"manifest: {r.manifest_path}")
        if r.score_pathspec:
            out.print(f"scored {r.rows_scored:,} rows: {r.score_pathspec} -> {m.get('predictions_path')}")
        if not apply:
            out.print("nothing deployed; add --apply --score DATASET and/or --apply --serve")
        if serve:
            out.print(f"serving on http://{host}:{port}/predict (Ctrl-C to stop)")

    emit(common, payload(r, gate=r.gate.value, url=f"http://{host}:{port}" if serve else None,
                         predictions_path=r.manifest.get("predictions_path")), human)
    if serve:
        import uvicorn

        app = use_case.serving_app(r)
        uvicorn.run(app, host=host, port=port, log_level="warning" if not effective(common).debug else "info")
        import sys

        # Ctrl-C is how a server ends (uvicorn shut it down gracefully): said, exit 0, as `loom proxy serve`
        print(f"loom: stopped serving http://{host}:{port}", file=sys.stderr, flush=True)
    return 0
