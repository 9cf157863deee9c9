"""`loom ops`: run health and data drift."""

from __future__ import annotations

from typing import Annotated

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, container_for, emit, load_config


def ops(
    *,
    flow: Annotated[str | None, Parameter(help="Health of this flow's runs.")] = None,
    experiment: Annotated[str | None, Parameter(help="Health of this experiment's runs.")] = None,
    dataset: Annotated[str | None, Parameter(help="A batch to check for drift.")] = None,
    reference: Annotated[str | None, Parameter(help="The reference data object for drift.")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Run health and data drift of a batch vs a reference, with a VERDICT.

    Runs OpsFlow. Health (--flow F or --experiment ID): counts, success rate, failures;
    ATTENTION below an 80% success rate or when the latest run failed. Drift (--dataset P
    --reference P0): PSI per column (KS for numbers), new and missing columns; ATTENTION when
    any column has PSI >= 0.2 or the columns changed. Exit 0 either way (the verdict is the answer).
    """
    from loom.entrypoints.cli.lifecycle_view import payload, run_quiet, verdict_block

    config = load_config(common)
    use_case = container_for(config).check_ops()
    r = run_quiet(common, "checking ...", lambda: use_case(flow=flow, experiment=experiment, dataset=dataset,
                                                            reference=reference))

    def human(out) -> None:  # type: ignore[no-untyped-def]
        from loom.entrypoints.cli.safe_text import safe

        out.print(f"[bold]{safe(r.pathspec)}[/bold]")
        if r.health is not None:
            h = r.health
            rate = "n/a" if h["success_rate"] is None else f"{h['success_rate']:.0%}"
            out.print(f"runs: {h['total']} total, {h['succeeded']} ok, {h['failed']} failed, {h['running']} unfinished; "
                      f"success rate {rate}")
            for p in h["failures"][:5]:
                out.print(f"  failed or unfinished: {safe(p)}")
        if r.drift or r.new_columns or r.missing_columns:
            from rich.table import Table

            table = Table(title="drift vs reference", title_justify="left")
            for col in ("column", "kind", "PSI", "KS", "drifted"):
                table.add_column(col)
            for d in r.drift:
                table.add_row(safe(d.column), safe(d.kind), f"{d.psi:.3f}", "" if d.ks is None else f"{d.ks:.3f}",
                              "[yellow]yes[/yellow]" if d.drifted else "")
            out.print(table)
        verdict_block(out, r.verdict.value, r.reasons)

    emit(common, payload(r, status="OK", verdict=r.verdict.value), human)
    return 0
