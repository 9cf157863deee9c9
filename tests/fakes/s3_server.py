"""A real S3-compatible object store on loopback (moto's standalone server), and a Metaflow profile for it.

`S3Server` starts `moto_server -H 127.0.0.1 -p PORT` as a child process, waits until it answers,
and creates a bucket. `write_profile(...)` writes `<metaflow_home>/config_<profile>.json`: the S3
datastore under `s3://bucket/prefix`, the endpoint Metaflow's S3 client honours
(METAFLOW_S3_ENDPOINT_URL), cards under the same root, and local metadata in a folder of the
caller's choosing (there is no metadata service here). `profile_env(...)` is what a process needs
to use it: METAFLOW_HOME + METAFLOW_PROFILE, and AWS credentials from a shared-credentials file
(so no secret-looking variable is set). Used by the S3 tests and `bench/metaflow_overhead.py --s3`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PROFILE = "loom-s3-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class S3Server:
    """moto's S3 server on 127.0.0.1:<port> (started by start(), killed by stop())."""

    def __init__(self, root: Path, bucket: str = "loom-test") -> None:
        self.root = Path(root)
        self.bucket = bucket
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> "S3Server":
        own = Path(sys.executable).with_name("moto_server")  # this environment's (the locked moto)
        binary = str(own) if own.exists() else (shutil.which("moto_server") or "moto_server")
        self.root.mkdir(parents=True, exist_ok=True)
        log = open(self.root / "moto_server.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(self.port)], stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto_server exited: {(self.root / 'moto_server.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        self.client().create_bucket(Bucket=self.bucket)
        return self

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def keys(self, prefix: str = "") -> list[str]:
        """Every object key under prefix (paginated)."""
        out: list[str] = []
        for page in self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return out

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> "S3Server":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_profile(server: S3Server, metaflow_home: Path, metadata_root: Path, *, prefix: str = "metaflow",
                  profile: str = PROFILE) -> Path:
    """The Metaflow profile a user writes for an S3 datastore (here: the loopback one)."""
    sysroot = f"s3://{server.bucket}/{prefix}"
    config = {
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": sysroot,
        "METAFLOW_CARD_S3ROOT": f"{sysroot}/mf.cards",
        "METAFLOW_S3_ENDPOINT_URL": server.endpoint,
        "METAFLOW_DEFAULT_METADATA": "local",
        "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(metadata_root),
    }
    metaflow_home.mkdir(parents=True, exist_ok=True)
    path = metaflow_home / f"config_{profile}.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def profile_env(metaflow_home: Path, *, profile: str = PROFILE) -> dict[str, str]:
    """Environment that selects the profile, with moto's credentials in a shared-credentials file."""
    creds = metaflow_home / "aws_credentials"
    creds.write_text("[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    conf = metaflow_home / "aws_config"
    conf.write_text("[default]\nregion = us-east-1\n")
    return {
        "METAFLOW_HOME": str(metaflow_home),
        "METAFLOW_PROFILE": profile,
        "AWS_SHARED_CREDENTIALS_FILE": str(creds),
        "AWS_CONFIG_FILE": str(conf),
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def apply_env(env: dict[str, str]) -> dict[str, str | None]:
    """Set env in os.environ; returns the previous values (for restore_env)."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    return old


def restore_env(old: dict[str, str | None]) -> None:
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
