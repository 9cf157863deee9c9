"""`loom doctor --mlops metaflow`: which datastore, metadata provider and profile flows will use,
and whether the object store answers.

The facts come from a probe run the way flows run (the interpreter flows use, Loom's flow
environment, the same working directory), so a profile, METAFLOW_* variables and the AWS credential
chain are read exactly as a flow reads them, and Loom's own process never has to import metaflow
under a configuration it may already hold. The probe reaches the store through Metaflow's own S3
client (endpoint, role and credentials as Metaflow resolves them), never an SDK of Loom's choosing.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loom.adapters.shared import metaflow_runtime as rt

if TYPE_CHECKING:
    from loom.application.config import LoomConfig
    from loom.domain.checks import Check

PROBE_TIMEOUT_S = 60.0

PROBE = r'''
import json, os, sys
out = {}
try:
    from metaflow import metaflow_config as c
    out.update(datastore=c.DEFAULT_DATASTORE, metadata=c.DEFAULT_METADATA, service_url=c.SERVICE_URL or "",
               s3_root=c.DATASTORE_SYSROOT_S3 or "", local_root=c.DATASTORE_SYSROOT_LOCAL or "",
               endpoint=c.S3_ENDPOINT_URL or "", azure_root=c.DATASTORE_SYSROOT_AZURE or "",
               gs_root=c.DATASTORE_SYSROOT_GS or "", card_s3_root=c.CARD_S3ROOT or "")
    profile = os.environ.get("METAFLOW_PROFILE", "")
    home = os.path.expanduser(os.environ.get("METAFLOW_HOME", "~/.metaflowconfig"))
    name = "config_%s.json" % profile if profile else "config.json"
    path = os.path.join(home, name)
    out.update(profile=profile, profile_file=path if os.path.exists(path) else "",
               profile_missing=bool(profile) and not os.path.exists(path))
except Exception as exc:
    out["error"] = "%s: %s" % (type(exc).__name__, exc)
    print(json.dumps(out)); sys.exit(0)
if out["datastore"] == "s3":
    try:
        from urllib.parse import urlparse
        from botocore.config import Config
        from metaflow.metaflow_config import DATATOOLS_CLIENT_PARAMS
        from metaflow.plugins.datatools.s3.s3util import get_s3_client
        root = urlparse(out["s3_root"])
        params = dict(DATATOOLS_CLIENT_PARAMS)  # endpoint, certificates: as Metaflow's own S3 client
        params.setdefault("config", Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1}))
        client, _ = get_s3_client(s3_client_params=params)
        client.list_objects_v2(Bucket=root.netloc, Prefix=root.path.lstrip("/"), MaxKeys=1)
        out["store_ok"] = True
    except Exception as exc:
        out["store_ok"] = False
        out["store_error"] = ("%s: %s" % (type(exc).__name__, exc)).splitlines()[0][:300]
elif out["datastore"] == "local":
    root = out["local_root"] or os.getcwd()
    out["store_ok"] = os.path.isdir(root) and os.access(root, os.W_OK)
    if not out["store_ok"]:
        out["store_error"] = "%s is not a writable folder" % root
if out["metadata"] == "service" and out["service_url"]:
    try:
        import requests
        from metaflow.metaflow_config import SERVICE_HEADERS
        r = requests.get(out["service_url"].rstrip("/") + "/ping", headers=SERVICE_HEADERS, timeout=10)
        out["service_ok"] = r.status_code == 200
        out["service_error"] = "" if out["service_ok"] else "HTTP %d" % r.status_code
    except Exception as exc:
        out["service_ok"] = False
        out["service_error"] = ("%s: %s" % (type(exc).__name__, exc)).splitlines()[0][:300]
print(json.dumps(out))
'''


def probe(config: "LoomConfig") -> dict[str, Any]:
    """What a flow of this config would see (the probe's JSON; {"error": ...} when it could not run)."""
    embedded = rt.embedded(config)
    cwd = rt.ensure_root(config) if embedded else Path.cwd()
    try:
        done = subprocess.run([config.python, "-c", PROBE], capture_output=True, text=True, cwd=cwd,
                              env=rt.subprocess_env(config), timeout=PROBE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return {"error": tail[:300]}
    return dict(json.loads(lines[-1]))


def checks(config: "LoomConfig") -> list["Check"]:
    """datastore, metadata provider, profile, object store reachable: one Check each."""
    from loom.domain.checks import Check, Level

    facts = probe(config)
    if "error" in facts:
        return [Check("metaflow", Level.FAIL, f"could not read Metaflow's configuration: {facts['error']}",
                      f"check that {config.python} can `import metaflow` (LOOM_PYTHON)")]
    out: list[Check] = []
    embedded = rt.embedded(config)
    if facts.get("profile_missing"):
        out.append(Check("metaflow profile", Level.FAIL, f"METAFLOW_PROFILE={facts['profile']} but "
                         f"{facts.get('profile_file') or 'its config file'} does not exist",
                         "write ~/.metaflowconfig/config_<profile>.json (docs/scale.md) or unset METAFLOW_PROFILE"))
    elif facts.get("profile"):
        out.append(Check("metaflow profile", Level.PASS, f"{facts['profile']} ({facts['profile_file']})"))
    else:
        trimmed = rt.metaflow_env(config).get("METAFLOW_HOME")
        out.append(Check("metaflow profile", Level.PASS, "none: METAFLOW_* environment variables" if not embedded
                         else "none: Loom's embedded datastore" + (f"; local plugins only ({trimmed}/config.json; "
                                                                   "a METAFLOW_HOME of yours replaces it)" if trimmed else "")))
    kind = facts.get("datastore", "?")
    where = {"s3": facts.get("s3_root"), "local": facts.get("local_root") or str(Path.cwd()),
             "azure": facts.get("azure_root"), "gs": facts.get("gs_root")}.get(kind) or "?"
    extra = f" via {facts['endpoint']}" if kind == "s3" and facts.get("endpoint") else ""
    if kind == "s3" and not facts.get("s3_root"):
        out.append(Check("metaflow datastore", Level.FAIL, "s3 datastore without METAFLOW_DATASTORE_SYSROOT_S3",
                         "set METAFLOW_DATASTORE_SYSROOT_S3=s3://bucket/prefix in the profile"))
    elif facts.get("store_ok") is False:
        out.append(Check("metaflow datastore", Level.FAIL, f"{kind} at {where}{extra} is not reachable: "
                         f"{facts.get('store_error', '?')}", _store_fix(kind)))
    elif facts.get("store_ok"):
        out.append(Check("metaflow datastore", Level.PASS, f"{kind} at {where}{extra} (reachable)"))
    else:
        out.append(Check("metaflow datastore", Level.WARN, f"{kind} at {where} (reachability not checked)", ""))
    meta = facts.get("metadata", "?")
    if meta == "service":
        ok = facts.get("service_ok")
        out.append(Check("metaflow metadata", Level.PASS if ok else Level.FAIL,
                         f"service at {facts.get('service_url') or '?'}" + ("" if ok else f": {facts.get('service_error')}"),
                         "" if ok else "check METAFLOW_SERVICE_URL and METAFLOW_SERVICE_AUTH_KEY in the profile"))
    else:
        root = facts.get("local_root") or str(Path.cwd())
        level = Level.PASS if embedded or kind == "local" else Level.WARN
        out.append(Check("metaflow metadata", level, f"{meta} under {root}",
                         "" if level is Level.PASS else "runs are recorded on this machine only: remote steps and "
                         "other machines need a metadata service (METAFLOW_SERVICE_URL)"))
    return out


def _store_fix(kind: str) -> str:
    if kind == "s3":
        return ("check the bucket in METAFLOW_DATASTORE_SYSROOT_S3, METAFLOW_S3_ENDPOINT_URL for an S3-compatible "
                "server, and AWS credentials (AWS_PROFILE / ~/.aws/credentials)")
    return "check METAFLOW_DATASTORE_SYSROOT_LOCAL (a folder Loom can write)"
