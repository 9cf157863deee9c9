"""`loom providers` and `loom doctor`: what is registered, what is selected, what is ready."""

from __future__ import annotations

from typing import Annotated, Any

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, emit, load_config


def _selected_names(config: Any) -> dict[str, list[str]]:
    from loom.entrypoints import registry

    selected = {port: [str(getattr(config, field))] for port, field in registry.SELECTED_BY.items()}
    selected["models"] = sorted({config.role_provider("code")[0], config.role_provider("feedback")[0]})
    return selected


def _checks(port: str, name: str, config: Any) -> list[Any]:
    from loom.application.credentials import EnvCredentials
    from loom.application.ports.readiness import readiness
    from loom.domain.checks import Check, Level
    from loom.domain.errors import UnknownProviderError
    from loom.entrypoints import registry

    try:
        cls = registry.load(port, name)
    except UnknownProviderError:  # a mistyped name (--mlops bogus) is a usage error, not a broken install
        raise
    except Exception as exc:  # a broken or missing plugin is a FAIL line, not a crash
        return [Check(f"{port}:{name}", Level.FAIL, f"cannot load adapter: {type(exc).__name__}: {exc}", "reinstall with ./install.sh")]
    return readiness(cls, config, EnvCredentials())


def _local_checks(config: Any) -> list[Any]:
    """LOOM_HOME (a folder Loom can write) and LOOM_PYTHON (an interpreter that starts)."""
    from loom.application.local_setup import home_check, interpreter_check

    return [home_check(config.home), interpreter_check(config.python)]


def _guarded_checks(port: str, name: str, config: Any) -> list[Any]:
    """`_checks`, with an adapter's check that breaks on this machine (LOOM_HOME a file, a bad
    LOOM_METAFLOW_WITH) as a FAIL line instead of a crash: doctor reports every problem."""
    from loom.domain.checks import Check, Level
    from loom.domain.errors import LoomError, UnknownProviderError

    try:
        return _checks(port, name, config)
    except UnknownProviderError:
        raise
    except (LoomError, OSError) as exc:
        from loom.application.local_setup import home_os_error

        err = home_os_error(exc, config.home) or exc
        text = err.message if isinstance(err, LoomError) else f"{type(err).__name__}: {err}"
        fix = (err.hint if isinstance(err, LoomError) else None) or "see the LOOM_HOME / LOOM_PYTHON lines above"
        return [Check(f"{port}:{name}", Level.FAIL, f"cannot check: {text}", fix)]


def providers(*, common: Annotated[Common, Parameter(name="*")] = Common()) -> int:
    """List every port, its adapters, which one is selected, and whether each is ready.

    Ready means: its imports are available and the keys it needs are present in the
    environment. Key values are never shown.
    """
    from loom.domain.checks import Level
    from loom.entrypoints import registry

    config = load_config(common)
    selected = _selected_names(config)
    rows = []
    for port in registry.PORTS:
        for name in registry.names(port):
            checks = _checks(port, name, config)
            rows.append({
                "port": port,
                "name": name,
                "selected": name in selected[port],
                "ready": all(c.level is not Level.FAIL for c in checks),
                "origin": registry.origin(port, name),
                "target": registry.target(port, name),
                "checks": [c.as_dict() for c in checks],
            })

    def human(out) -> None:  # type: ignore[no-untyped-def]
        from rich.table import Table

        table = Table(title="Loom providers")
        for col in ("port", "provider", "selected", "ready", "why not"):
            table.add_column(col)
        for row in rows:
            why = "; ".join(f"{c['subject']}: {c['detail']}" for c in row["checks"] if c["level"] == "FAIL")
            table.add_row(row["port"], row["name"], "*" if row["selected"] else "", "yes" if row["ready"] else "no", why)
        out.print(table)

    emit(common, {"status": "OK", "providers": rows}, human)
    return 0


def doctor(
    *,
    search: Annotated[str | None, Parameter(help="Preflight this search brain instead (LOOM_SEARCH_PROVIDER).")] = None,
    mlops: Annotated[str | None, Parameter(help="Preflight this MLOps provider instead (LOOM_MLOPS_PROVIDER).")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Preflight the selected providers and the candidate sandbox: PASS / WARN / FAIL with a fix.

    Model providers are checked only when the selected brain uses an LLM (the baseline brain
    does not). The sandbox line says whether candidates run isolated (bwrap) or not (none, with
    the command that installs bubblewrap). Exits 2 when anything FAILs; a WARN never blocks.
    """
    from loom.domain.checks import Level
    from loom.entrypoints import registry

    config = load_config(common, search_provider=search, mlops_provider=mlops)
    brain_needs_models = getattr(registry.load("search", config.search_provider), "needs_models", True)
    lines = [{"port": "local", "provider": "-", "roles": [], **check.as_dict()} for check in _local_checks(config)]
    shown: set[tuple[str, str]] = set()
    for port, names in _selected_names(config).items():
        if port == "models" and not brain_needs_models:
            lines.append({"port": port, "provider": "-", "roles": [], "subject": "LLM", "level": Level.PASS.value,
                          "detail": f"not needed by the '{config.search_provider}' brain", "fix": ""})
            continue
        for name in names:
            roles = [r for r in ("code", "feedback") if port == "models" and config.role_provider(r)[0] == name]
            checks = _guarded_checks(port, name, config)
            if not checks:
                lines.append({"port": port, "provider": name, "roles": roles, "subject": "adapter",
                              "level": Level.PASS.value, "detail": "ready (nothing to check)", "fix": ""})
            for check in checks:
                model_fact = (check.subject, check.detail)
                if port == "models" and check.subject.startswith("model ") and model_fact in shown:
                    continue  # one deprecated model used by two providers: warn once
                shown.add(model_fact)
                lines.append({"port": port, "provider": name, "roles": roles, **check.as_dict()})
    from loom.adapters.sandbox import readiness as sandbox_readiness

    lines.append({"port": "sandbox", "provider": config.sandbox, "roles": [], **sandbox_readiness(config).as_dict()})
    failed = any(line["level"] == Level.FAIL.value for line in lines)
    status = "FAIL" if failed else "OK"

    def human(out) -> None:  # type: ignore[no-untyped-def]
        colours = {"PASS": "green", "WARN": "yellow", "FAIL": "red"}
        for line in lines:
            role = f" ({'/'.join(line['roles'])})" if line["roles"] else ""
            fix = f"  -> {line['fix']}" if line["fix"] and line["level"] != "PASS" else ""
            out.print(
                f"[{colours[line['level']]}]{line['level']:4}[/] {line['port']}:{line['provider']}{role} "
                f"{line['subject']}: {line['detail']}{fix}"
            )
        out.print(f"doctor: {status}")

    emit(common, {"status": status, "checks": lines}, human)
    return 2 if failed else 0
