"""How the model-provider flags become config overrides (DESIGN.md §3).

`--model-provider X` sets both roles; `--code-provider` / `--feedback-provider` override it for
their own role. Flags left out (None) override nothing, so env/YAML/default still apply, and
the default rule (hosted gateway -> loom-proxy, else anthropic-api) runs in
`LoomConfig.role_provider` when no layer names a provider.
"""

from __future__ import annotations


def provider_overrides(
    model_provider: str | None = None,
    code_provider: str | None = None,
    feedback_provider: str | None = None,
) -> dict[str, str]:
    """{config field: provider name} for `LoomConfig.load(flags=...)`; empty when no flag is given."""
    out: dict[str, str] = {}
    if model_provider:
        out["code_provider"] = out["feedback_provider"] = model_provider
    if code_provider:
        out["code_provider"] = code_provider
    if feedback_provider:
        out["feedback_provider"] = feedback_provider
    return {field: name.strip().lower() for field, name in out.items()}
