"""`loom eda`: profile a data object."""

from __future__ import annotations

from typing import Annotated

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, container_for, emit, load_config


def eda(
    *,
    dataset: Annotated[str, Parameter(help="The data object to profile (IngestDataset/N or FeaturesFlow/N).")],
    target: Annotated[str | None, Parameter(help="Target column (inferred when omitted).")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Profile a data object: stats, correlations, leakage flags; an @card with plots.

    Runs EdaFlow: rows x columns, dtypes, missingness, target balance or distribution,
    per-column stats, correlations, and leakage flags {column, kind, detail} (near-perfect
    single-feature predictor, id-like column, duplicate of / derived from the target, time
    leakage). VERDICT PASS (no flags) or REVIEW. Open the card with `loom card EdaFlow/N`.
    The same detectors screen `loom run`'s data before its first candidate (`loom run --leaks`).
    """
    from loom.entrypoints.cli.lifecycle_view import flag_table, payload, run_quiet, verdict_block

    config = load_config(common)
    use_case = container_for(config).profile_dataset()
    r = run_quiet(common, f"profiling {dataset} ...", lambda: use_case(dataset, target=target))

    def human(out) -> None:  # type: ignore[no-untyped-def]
        from loom.entrypoints.cli.safe_text import safe

        out.print(f"[bold]{safe(r.pathspec)}[/bold]  {safe(r.dataset)}: {r.rows:,} rows x {r.columns} columns, "
                  f"target [bold]{safe(r.target)}[/bold] ({safe(r.task_type)})")
        summary = r.target_summary
        if r.task_type == "classification":
            out.print("target balance: " + ", ".join(f"{safe(k)} {v:.1%}" for k, v in summary["balance"].items()))
        else:
            out.print(f"target: mean {summary['mean']}, std {summary['std']}, min {summary['min']}, max {summary['max']}")
        gaps = {k: v for k, v in r.missing.items() if v > 0}
        out.print("missing: " + (", ".join(f"{safe(k)} {v:.1%}" for k, v in sorted(gaps.items(), key=lambda kv: -kv[1])[:8]) or "none"))
        if r.top_correlations:
            out.print("top correlations with the target: " + ", ".join(f"{safe(k)} {v:+.2f}" for k, v in r.top_correlations[:5]))
        if r.leakage:
            flag_table(out, r.leakage, f"leakage flags ({len(r.leakage)})")
        verdict_block(out, r.verdict.value, [f"{len(r.leakage)} leakage flag(s): drop them with `loom features --dataset "
                                             f"{r.dataset} --from {r.pathspec}`"] if r.leakage else ["no leakage flags"])
        if r.card:
            out.print(f"card: {safe(r.card)}")

    emit(common, payload(r, status="OK", verdict=r.verdict.value), human)
    return 0
