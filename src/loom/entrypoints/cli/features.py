"""`loom features`: a derived feature set as a new data object."""

from __future__ import annotations

from typing import Annotated, Literal

from cyclopts import Parameter

from loom.entrypoints.cli.common import Common, container_for, emit, load_config


def features(
    *,
    dataset: Annotated[str, Parameter(help="The data object to derive features from.")],
    from_eda: Annotated[str | None, Parameter(name="--from", help="An EDA run whose leakage flags to apply (EdaFlow/N).")] = None,
    recipe: Annotated[Literal["minimal", "full"], Parameter(help="Feature recipe.")] = "minimal",
    target: Annotated[str | None, Parameter(help="Target column (inferred when omitted).")] = None,
    common: Annotated[Common, Parameter(name="*")] = Common(),
) -> int:
    """Derive a feature set (flagged leaky columns dropped) as a new data object (FeaturesFlow/N).

    The leakage flags come from `--from EdaFlow/N` or are recomputed. minimal: drop the flagged
    columns and split datetimes into parts; full: also missing indicators, log1p of skewed
    numbers and frequency encodings. The result keeps the data-object artifacts (train, test,
    schema, fingerprint, ...) so every verb accepts FeaturesFlow/N like IngestDataset/N.
    """
    from loom.entrypoints.cli.lifecycle_view import flag_table, payload, run_quiet

    config = load_config(common)
    use_case = container_for(config).build_features()
    r = run_quiet(common, f"building features from {dataset} ...",
                  lambda: use_case(dataset, from_eda=from_eda, recipe=recipe, target=target))

    def human(out) -> None:  # type: ignore[no-untyped-def]
        from loom.entrypoints.cli.safe_text import safe

        out.print(f"[bold]{safe(r.pathspec)}[/bold]  columns {r.columns_before} -> {r.columns_after} "
                  f"(dropped {len(r.dropped)}, added {len(r.added)}), recipe {safe(r.recipe)}, fingerprint {r.fingerprint[:12]}")
        if r.dropped:
            flag_table(out, r.dropped, "dropped")
        if r.kept:
            flag_table(out, r.kept, "kept for review (a strong predictor, not certainly a leak)")
        if r.added:
            out.print("added: " + ", ".join(safe(a) for a in r.added))
        out.print("lineage: " + " -> ".join(safe(x) for x in r.lineage["chain"]))

    emit(common, payload(r, status="OK"), human)
    return 0
