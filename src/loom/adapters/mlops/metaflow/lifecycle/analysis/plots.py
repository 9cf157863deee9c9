"""matplotlib figures for the lifecycle cards (Agg backend: headless, embedded as PNG, offline)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def _fig(w: float = 6.0, h: float = 3.2) -> "Figure":
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=90, layout="tight")


def distributions(train: "pd.DataFrame", columns: list[str], limit: int = 9) -> "Figure":
    import math

    import pandas as pd

    cols = columns[:limit]
    n = max(len(cols), 1)
    ncols = 3
    nrows = math.ceil(n / ncols)
    fig = _fig(9, 2.4 * nrows)
    for i, col in enumerate(cols):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        s = train[col].dropna()
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            ax.hist(s.astype(float), bins=30, color="#4C78A8")
        else:
            vc = s.astype("string").value_counts().head(8)
            ax.barh([str(k)[:14] for k in vc.index][::-1], vc.to_numpy()[::-1], color="#F58518")
        ax.set_title(str(col)[:28], fontsize=9)
        ax.tick_params(labelsize=7)
    return fig


def heatmap(columns: list[str], matrix: list[list[float | None]]) -> "Figure":
    import numpy as np

    fig = _fig(6.5, 5.5)
    ax = fig.add_subplot(1, 1, 1)
    data = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    im = ax.imshow(data, cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(len(columns)), [c[:22] for c in columns], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(columns)), [c[:22] for c in columns], fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title("Pearson correlation", fontsize=10)
    return fig


def target_plot(y: "pd.Series", kind: str) -> "Figure":
    fig = _fig(5, 3)
    ax = fig.add_subplot(1, 1, 1)
    if kind == "classification":
        vc = y.astype("string").value_counts()
        ax.bar([str(k)[:14] for k in vc.index], vc.to_numpy(), color="#54A24B")
    else:
        ax.hist(y.dropna().astype(float), bins=40, color="#54A24B")
    ax.set_title(f"target: {y.name}", fontsize=10)
    return fig


def bars(labels: list[str], values: list[float], title: str, color: str = "#4C78A8") -> "Figure":
    fig = _fig(6, max(2.2, 0.3 * len(labels) + 1))
    ax = fig.add_subplot(1, 1, 1)
    ax.barh([str(lab)[:30] for lab in labels][::-1], list(values)[::-1], color=color)
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=8)
    return fig


def calibration_curve(mean_pred: list[float], frac_pos: list[float], brier: float) -> "Figure":
    fig = _fig(4.5, 4)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
    ax.plot(mean_pred, frac_pos, "o-", color="#E45756", label="model")
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("fraction positive")
    ax.set_title(f"calibration (Brier {brier:.4f})", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def cv_scores(scores: list[float], holdout: float, metric: str) -> "Figure":
    fig = _fig(5, 3)
    ax = fig.add_subplot(1, 1, 1)
    ax.bar([f"fold {i + 1}" for i in range(len(scores))], scores, color="#4C78A8", label="CV")
    ax.axhline(holdout, color="#E45756", label=f"holdout {holdout:.4f}")
    lo = min([*scores, holdout])
    hi = max([*scores, holdout])
    pad = (hi - lo) * 0.5 + 1e-3
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_title(f"{metric} per fold", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def predicted_vs_actual(truth: list[float], pred: list[float]) -> "Figure":
    fig = _fig(4.5, 4)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(truth, pred, s=6, alpha=0.5)
    lo, hi = min(truth + pred), max(truth + pred)
    ax.plot([lo, hi], [lo, hi], "--", color="grey")
    ax.set_xlabel("actual")
    ax.set_ylabel("predicted")
    ax.set_title("holdout: predicted vs actual", fontsize=10)
    return fig


def drift_hist(name: str, hist: dict[str, Any]) -> "Figure":
    import numpy as np

    fig = _fig(5, 2.6)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(len(hist["reference"]))
    ax.bar(x - 0.2, hist["reference"], width=0.4, label="reference", color="#4C78A8")
    ax.bar(x + 0.2, hist["current"], width=0.4, label="current", color="#E45756")
    ax.set_title(f"{name}: share per bin", fontsize=10)
    ax.legend(fontsize=8)
    return fig


# ---- Vega-Lite specs: drawn by the card's own bundled JavaScript (offline), no matplotlib import ----
def vega_bars(labels: list[str], values: list[float], title: str, color: str = "#4C78A8") -> dict[str, Any]:
    """Horizontal bars as a Vega-Lite spec (for metaflow.cards.VegaChart)."""
    return {
        "title": title, "width": 420, "height": max(60, 18 * len(labels)),
        "data": {"values": [{"label": str(lab)[:30], "value": float(v)} for lab, v in zip(labels, values)]},
        "mark": {"type": "bar", "color": color},
        "encoding": {"y": {"field": "label", "type": "nominal", "sort": None, "title": None},
                     "x": {"field": "value", "type": "quantitative", "title": None}},
    }


def vega_drift_hist(name: str, hist: dict[str, Any]) -> dict[str, Any]:
    """Reference vs current share per bin, side by side, as a Vega-Lite spec."""
    rows = [{"bin": i, "set": which, "share": float(v)}
            for which in ("reference", "current") for i, v in enumerate(hist[which])]
    return {
        "title": f"{name}: share per bin", "width": 360, "height": 160, "data": {"values": rows},
        "mark": "bar",
        "encoding": {"x": {"field": "bin", "type": "ordinal"}, "xOffset": {"field": "set"},
                     "y": {"field": "share", "type": "quantitative"},
                     "color": {"field": "set", "scale": {"range": ["#4C78A8", "#E45756"]}}},
    }
