"""Validation of soil-moisture estimates against in-situ values: scores per group and the report's figures
(Fayad et al. 2022, §2.3 and figures 2, 4, 6, 7). Scores: :func:`algorithms.metrics.continuous_scores`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .. import report as _report
from ..metrics import continuous_scores

#: NDVI classes of the bias/RMSE figure (Fayad et al. 2022, fig. 7 bins NDVI by 0.1; wider bins here keep enough
#: samples).
NDVI_EDGES = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)


def scores_by_group(estimate: ArrayLike, reference: ArrayLike, groups: ArrayLike) -> list[tuple[str, dict]]:
    """``[(group, scores)]`` for every group (sorted), scores from :func:`continuous_scores`."""
    groups = np.asarray(groups).astype(str)
    e, r = np.asarray(estimate, np.float64), np.asarray(reference, np.float64)
    return [(g, continuous_scores(e[groups == g], r[groups == g])) for g in sorted(set(groups))]


def scatter_figure(estimate: ArrayLike, reference: ArrayLike, ndvi: ArrayLike | None = None, *,
                   title: str = "Estimated against in-situ soil moisture"):
    """Fayad et al. (2022), fig. 2: estimate against in situ, the 1:1 line, coloured by NDVI when given."""
    fig = _report.figure(5.5, 5.0)
    ax = fig.add_subplot()
    e, r = np.asarray(estimate, np.float64), np.asarray(reference, np.float64)
    ok = np.isfinite(e) & np.isfinite(r)
    if ndvi is not None:
        sc = ax.scatter(r[ok], e[ok], c=np.asarray(ndvi, np.float64)[ok], cmap="YlGn", s=10, vmin=0, vmax=1)
        fig.colorbar(sc, ax=ax, label="NDVI (unitless) of the sample")
    else:
        ax.scatter(r[ok], e[ok], s=10, color="#1f77b4")
    hi = float(np.nanmax(np.concatenate([e[ok], r[ok]]))) if ok.any() else 0.5
    ax.plot([0, hi], [0, hi], "k--", lw=1)
    ax.set_xlabel("in situ (m³/m³)")
    ax.set_ylabel("estimated (m³/m³)")
    ax.set_title(title, fontsize=10)
    return fig


def boxplot_figure(per_station: Sequence[tuple[str, dict]], network_of: dict):
    """Fayad et al. (2022), fig. 4: per network, box plots of the stations' R and RMSE."""
    nets = sorted({network_of[s] for s, _ in per_station})
    r = [[sc["r"] for s, sc in per_station if network_of[s] == n and np.isfinite(sc["r"])] for n in nets]
    e = [[sc["rmse"] for s, sc in per_station if network_of[s] == n and np.isfinite(sc["rmse"])] for n in nets]
    fig = _report.figure(max(5.0, 1.2 * len(nets) + 2), 4.0)
    ax = fig.add_subplot()
    pos = np.arange(len(nets)) * 3.0
    ax.boxplot([v or [np.nan] for v in r], positions=pos, widths=0.9, patch_artist=True,
               boxprops={"facecolor": "#9ecae1"})
    ax.boxplot([v or [np.nan] for v in e], positions=pos + 1.0, widths=0.9, patch_artist=True,
               boxprops={"facecolor": "#fdae6b"})
    ax.set_xticks(pos + 0.5, labels=nets, rotation=30, ha="right")
    ax.set_ylabel("R (blue) and RMSE in m³/m³ (orange)")
    ax.set_title("Scores of the stations, per network", fontsize=10)
    return fig


def timeseries_figure(station: str, times: ArrayLike, estimate: ArrayLike, reference: ArrayLike,
                      vv: ArrayLike | None = None, ndvi: ArrayLike | None = None):
    """Fayad et al. (2022), fig. 6: one station's in-situ and estimated series (left axis, m³/m³), VV (dB) and NDVI
    (unitless, 0-1) each on its own right axis, with their units; the legend right of the axes, off the lines."""
    fig = _report.figure(9.0, 3.2)
    ax = fig.add_subplot()
    t = np.asarray(times, dtype="datetime64[s]").astype("O")
    order = np.argsort(np.asarray(times, dtype="datetime64[s]"))
    t = [t[i] for i in order]
    ax.plot(t, np.asarray(reference)[order], "o-", ms=3, color="black", label="in situ (m³/m³)")
    ax.plot(t, np.asarray(estimate)[order], "s-", ms=3, color="#d62728", label="estimated (m³/m³)")
    ax.set_ylabel("soil moisture (m³/m³)")
    ax.set_title(station, fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    right = 1.0
    for values, style, colour, label, axis_label, limits in (
            (vv, ":", "#1f77b4", "VV (dB, right axis)", "VV (dB)", None),
            (ndvi, "--", "#2ca02c", "NDVI (unitless, right axis)", "NDVI (unitless)", (0.0, 1.0))):
        if values is None:
            continue
        extra = ax.twinx()
        if right > 1.0:
            extra.spines["right"].set_position(("axes", right))
        extra.plot(t, np.asarray(values)[order], style, color=colour, label=label)
        extra.set_ylabel(axis_label, color=colour)
        extra.tick_params(axis="y", colors=colour)
        if limits:
            extra.set_ylim(*limits)
        h, lab = extra.get_legend_handles_labels()
        handles, labels = handles + h, labels + lab
        right += 0.12
    anchor = right + (0.02 if right == 1.0 else -0.02)     # right of the last axis' tick labels
    ax.legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(anchor, 1.0), borderaxespad=0.0)
    fig.autofmt_xdate()
    return fig


def ndvi_class_scores(estimate: ArrayLike, reference: ArrayLike, ndvi: ArrayLike,
                      edges: Sequence[float] = NDVI_EDGES) -> list[tuple[str, dict]]:
    """``[(label, scores)]`` per NDVI class (Fayad et al. 2022, fig. 7)."""
    v = np.asarray(ndvi, np.float64)
    e, r = np.asarray(estimate, np.float64), np.asarray(reference, np.float64)
    out = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (v >= lo) & (v < hi) if hi < edges[-1] else (v >= lo) & (v <= hi)
        if sel.any():
            out.append((f"{lo:.1f}–{hi:.1f}", continuous_scores(e[sel], r[sel])))
    return out


def ndvi_figure(classes: Sequence[tuple[str, dict]]):
    """Fayad et al. (2022), fig. 7: RMSE and bias against NDVI classes."""
    fig = _report.figure(6.0, 3.5)
    ax = fig.add_subplot()
    x = np.arange(len(classes))
    ax.bar(x - 0.2, [c["rmse"] for _, c in classes], 0.4, label="RMSE", color="#fdae6b")
    ax.bar(x + 0.2, [c["bias"] for _, c in classes], 0.4, label="bias", color="#9ecae1")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x, labels=[lab for lab, _ in classes])
    ax.set_xlabel("NDVI class (unitless)")
    ax.set_ylabel("RMSE and bias (m³/m³)")
    ax.legend(fontsize=8, loc="best")
    return fig
