"""The local prediction endpoint of a deployment (Starlette; the CLI runs it with uvicorn).

GET /health -> {"status": "ok", "deployment": ...}; POST /predict with {"rows": [{col: value}]}
(or a bare list of rows) -> {"predictions": [{id..., target, target_proba?}]}. The predictor is
built once at start-up from the manifest's training data object.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loom.application.config import LoomConfig


def build_app(manifest_path: str, config: "LoomConfig") -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from loom.adapters.mlops.metaflow.datasets import load_tables
    from loom.adapters.mlops.metaflow.lifecycle.analysis import scoring

    manifest = json.loads(Path(manifest_path).read_text())
    tables = load_tables(manifest["dataset"], config)
    predictor = scoring.build_predictor(manifest, tables.train)
    columns = [c for c in tables.train.columns if c != manifest["target"]]

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "deployment": manifest.get("deployment"), "solution": manifest["solution"],
                             "target": manifest["target"], "columns": columns})

    async def predict(request: Request) -> JSONResponse:
        import pandas as pd

        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "body must be JSON: {\"rows\": [{column: value}, ...]}"}, status_code=400)
        rows = body.get("rows") if isinstance(body, dict) else body
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            return JSONResponse({"error": "expected {\"rows\": [{column: value}, ...]} with at least one row"},
                                status_code=400)
        frame = pd.DataFrame(rows)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            return JSONResponse({"error": f"missing columns: {', '.join(missing[:10])}"}, status_code=422)
        frame = frame[columns].astype(tables.train[columns].dtypes.to_dict(), errors="ignore")
        out = scoring.predictions_frame(manifest, predictor, frame)
        return JSONResponse({"deployment": manifest.get("deployment"),
                             "predictions": json.loads(out.to_json(orient="records"))})

    return Starlette(routes=[Route("/health", health), Route("/predict", predict, methods=["POST"])])
