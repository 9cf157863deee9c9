"""`loom config show`: every setting, its value, and the layer it came from."""

from __future__ import annotations

from typing import Annotated

from cyclopts import App, Parameter

from loom.entrypoints.cli.common import Common, bare_group, effective, emit

config_app = App(name="config", help="Show the resolved configuration and where each value came from.",
          suppress_keyboard_interrupt=False)
bare_group(config_app)


@config_app.command
def show(*, common: Annotated[Common, Parameter(name="*")] = Common()) -> int:
    """Print every LoomConfig field, its value and the layer it came from.

    Layers, later wins: default < yaml (--config FILE) < dotenv (./.env) < env < flag.
    Secrets are never settings, so nothing here is ever a key.
    """
    from loom.application.config import LoomConfig, env_name
    from loom.entrypoints.logging import configure_logging

    common = effective(common)
    configure_logging(debug=common.debug)
    config, origins = LoomConfig.load_with_origins(yaml_file=common.config)
    values = config.public_dict()
    rows = [
        {"key": k, "value": values[k], "layer": origins[k], "env": env_name(k)} for k in LoomConfig.model_fields
    ]
    derived = {role: dict(zip(("provider", "why"), config.role_provider(role))) for role in ("code", "feedback")}

    def human(out) -> None:  # type: ignore[no-untyped-def]
        from rich.table import Table

        table = Table(title="Loom configuration", show_lines=False)
        for col in ("setting", "value", "layer", "env var"):
            table.add_column(col)
        for row in rows:
            table.add_row(row["key"], str(row["value"]), row["layer"], row["env"])
        out.print(table)
        for role, info in derived.items():
            out.print(f"{role} role -> [bold]{info['provider']}[/bold] ({info['why']})")

    emit(common, {"status": "OK", "settings": rows, "roles": derived}, human)
    return 0
