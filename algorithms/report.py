"""Self-contained HTML reports (accuracy, separability, validation), shared by every suite (no QGIS).

A report is one ``.html`` file a user can open, mail or attach: tables are HTML, figures are
matplotlib PNGs embedded as base64 (no side files to lose). Figures use matplotlib's object API
with the Agg canvas, never ``pyplot``: nothing touches QGIS's own Qt event loop or the global
backend, so reports can be written from Processing threads.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io

import numpy as np

_STYLE = """
body{font-family:sans-serif;max-width:1100px;margin:1.5em auto;color:#222;line-height:1.4}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #bbb;padding:.25em .6em;text-align:right}
th{background:#eee}td.l,th.l{text-align:left}caption{caption-side:top;text-align:left;font-style:italic;padding:.3em 0}
.note{background:#fff6d6;border-left:4px solid #e0b000;padding:.5em .8em}
figure{margin:1em 0}figcaption{font-style:italic;font-size:.9em}
"""


def figure(width=7.0, height=4.5):
    """A matplotlib ``Figure`` on the Agg canvas (no pyplot, no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _cell(value, digits):
    if isinstance(value, (float, np.floating)):
        return "–" if not np.isfinite(value) else f"{value:.{digits}f}"
    return html.escape(str(value))


class Report:
    """An HTML report built section by section, then written to one file (:meth:`write`)."""

    def __init__(self, title, *, source=None):
        self.title = title
        self.parts = []
        if source:
            self.paragraph(source)

    def heading(self, text):
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def paragraph(self, text, *, note=False):
        cls = ' class="note"' if note else ""
        self.parts.append(f"<p{cls}>{html.escape(text)}</p>")

    def table(self, headers, rows, *, caption=None, digits=3, left=1):
        """A table; the first ``left`` columns are left-aligned (labels), floats get ``digits`` decimals."""
        out = ["<table>"]
        if caption:
            out.append(f"<caption>{html.escape(caption)}</caption>")
        out.append("<tr>" + "".join(f'<th{" class=l" if i < left else ""}>{html.escape(str(h))}</th>'
                                     for i, h in enumerate(headers)) + "</tr>")
        for row in rows:
            out.append("<tr>" + "".join(f'<td{" class=l" if i < left else ""}>{_cell(v, digits)}</td>'
                                         for i, v in enumerate(row)) + "</tr>")
        out.append("</table>")
        self.parts.append("".join(out))

    def confusion_table(self, matrix, names, acc):
        """A confusion matrix (rows map, columns reference) with totals, UA per row, PA per column and OA;
        ``acc`` is :func:`algorithms.metrics.sample_accuracy`'s result for it."""
        m = np.asarray(matrix)
        nan = float("nan")
        self.table(["map \\ reference"] + list(names) + ["total", "UA"],
                   [[n] + list(m[i]) + [int(m[i].sum()), acc["ua"][i]] for i, n in enumerate(names)] +
                   [["total"] + [int(v) for v in m.sum(axis=0)] + [int(m.sum()), nan],
                    ["PA"] + list(acc["pa"]) + [nan, acc["oa"]]], digits=3)

    def image(self, fig, caption=None):
        """Embed a matplotlib figure as a PNG."""
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        self.parts.append(f'<figure><img alt="{html.escape(caption or "figure")}" '
                          f'src="data:image/png;base64,{data}">{cap}</figure>')

    def html(self):
        stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
                f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head><body>"
                f"<h1>{html.escape(self.title)}</h1>" + "\n".join(self.parts) +
                f"<p><small>Written by SARSense, {stamp}.</small></p></body></html>")

    def write(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html())
        return path


def confusion_figure(matrix, names, *, title="Confusion matrix (rows: map, columns: reference)"):
    """A confusion matrix as an annotated heat map (counts)."""
    m = np.asarray(matrix)
    fig = figure(1.2 + 0.6 * len(names), 1.0 + 0.55 * len(names))
    ax = fig.add_subplot()
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(names)), labels=names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), labels=names)
    ax.set_xlabel("reference")
    ax.set_ylabel("map")
    top = m.max() if m.size else 0
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=8, color="white" if v > top / 2 else "black")
    ax.set_title(title, fontsize=9)
    return fig
