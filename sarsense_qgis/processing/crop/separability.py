"""sarsense:separability — Jeffries-Matusita separability of training classes, per date and over all dates."""

from __future__ import annotations

import numpy as np
from qgis.core import (
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
)

from ....algorithms import report as _report
from ....algorithms.crop import separability as _sep
from .. import checks, inputs, outputs
from .base import CropAlgorithm

COLUMNS = [("class_a", str), ("class_b", str), ("date", str), ("n_a", int), ("n_b", int), ("B", float),
           ("JM", float), ("separable", bool), ("ridge", float)]


class SeparabilityAlgorithm(CropAlgorithm):
    INPUT, TRAINING, CLASS_FIELD, TARGET_CLASS, REGULARISATION, OUTPUT_TABLE, OUTPUT_HTML = (
        "INPUT", "TRAINING", "CLASS_FIELD", "TARGET_CLASS", "REGULARISATION", "OUTPUT_TABLE", "OUTPUT_HTML")

    def name(self):
        return "separability"

    def displayName(self):
        return self.tr("Class separability (Jeffries-Matusita)")

    def tags(self):
        return self.tr("jeffries,matusita,jm,bhattacharyya,separability,training,rice,classes,stack").split(",")

    def shortHelpString(self):
        return self.tr(
            "How well training classes separate in a dated stack, before classifying it (Liu et al. 2020, §3.1, "
            "tables 1-2). Each class is modelled as a Gaussian; B is the Bhattacharyya distance between two "
            "classes and JM = 2(1 − e^−B) the Jeffries-Matusita distance, from 0 (identical) to 2 (fully "
            "separable). JM above 1.8 counts as separable.\n\nComputed for every date alone (1-D) and for all "
            "dates together (full covariance; a small ridge, reported, keeps the inverse finite), for every class "
            "pair or for the target class against each other class. The table lists B and JM; the HTML report "
            "has a date × class-pair heat map and each class's mean profile with ±1σ bands.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.INPUT, self.tr("Dated stack")),
                 "One band per date (NDVH, NDVV, backscatter …), ISO dates in the band descriptions.")
        self.add_labelled_layer(self.TRAINING, "Training areas", self.CLASS_FIELD, "Class field",
                                "The class of each training feature (text or integer).")
        self.add(QgsProcessingParameterString(self.TARGET_CLASS, self.tr("Target class"), optional=True),
                 "Compare only this class with each other one (the paper: early rice); empty compares every pair.")
        self.add(QgsProcessingParameterNumber(self.REGULARISATION, self.tr("Covariance regularisation"),
                                              type=QgsProcessingParameterNumber.Double,
                                              defaultValue=_sep.DEFAULT_REGULARISATION, minValue=0.0),
                 "Ridge added to each class covariance, relative to its mean variance.", advanced=True, decimals=8)
        self.add_table_output(self.OUTPUT_TABLE, "Separability table",
                              "One row per class pair and date (or 'all dates'): B, JM, separable (JM > 1.8).")
        self.add_html_output(self.OUTPUT_HTML, "Separability report", "HTML: heat map and class profiles.")

    def process(self, parameters, context, feedback):
        src = inputs.raster_path(self, parameters, self.INPUT, context)
        dates = checks.stack_dates(self, src, self.INPUT, min_dates=1)
        samples = self.labelled_samples(parameters, self.TRAINING, self.CLASS_FIELD, src, context, feedback,
                                        end=0.8)
        by_class = {samples.label(c): samples.x[samples.y == c] for c in np.unique(samples.y)}
        target = self.parameterAsString(parameters, self.TARGET_CLASS, context).strip() or None
        if target is not None:
            match = [n for n in by_class if n.lower() == target.lower()]
            if not match:
                raise self.error(f"{self.label(self.TARGET_CLASS)} '{target}' is not a class of the training data "
                                 f"({', '.join(sorted(by_class))}).")
            target = match[0]
        ridge = self.parameterAsDouble(parameters, self.REGULARISATION, context)
        rows = _sep.separability_table(by_class, dates, target=target, regularisation=ridge)
        for r in rows:
            if r["date"] == "all dates":
                feedback.pushInfo(self.tr(f"{r['class_a']} / {r['class_b']}, all dates: JM = {r['JM']:.3f} "
                                          f"(B = {r['B']:.3f}) {'separable' if r['separable'] else 'NOT separable'}"))
        table = outputs.write_table(self, parameters, self.OUTPUT_TABLE, context, COLUMNS,
                                 [[r[c] for c, _ in COLUMNS] for r in rows])
        html = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        self._report(html, rows, by_class, dates, src, samples, ridge)
        feedback.setProgress(100)
        return {self.OUTPUT_TABLE: table, self.OUTPUT_HTML: html}

    def _report(self, path, rows, by_class, dates, src, samples, ridge):
        rep = _report.Report("Class separability (Jeffries-Matusita)",
                             source=f"Stack: {src} ({len(dates)} dates). Training: {samples.n_geometries} features, "
                                    f"{len(samples.y)} complete pixels.")
        pairs = list(dict.fromkeys((r["class_a"], r["class_b"]) for r in rows))
        columns = dates + ["all dates"]
        jm = np.array([[next(r["JM"] for r in rows if (r["class_a"], r["class_b"]) == p and r["date"] == d)
                        for d in columns] for p in pairs])
        rep.heading("Jeffries-Matusita distance")
        rep.paragraph(f"JM = 2(1 − e^−B), 0 to 2; above {_sep.SEPARABLE_JM} the classes separate well (Liu et al. "
                      f"2020, §3.1). Covariance ridge: {ridge:g} × mean variance (largest added: "
                      f"{max(r['ridge'] for r in rows):.3g}).")
        fig = _report.figure(max(6.0, 0.55 * len(columns) + 3), max(2.5, 0.4 * len(pairs) + 1.5))
        ax = fig.add_subplot()
        im = ax.imshow(jm, cmap="RdYlGn", vmin=0, vmax=2, aspect="auto")
        ax.set_xticks(range(len(columns)), labels=columns, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(pairs)), labels=[f"{a} / {b}" for a, b in pairs], fontsize=8)
        for (i, j), v in np.ndenumerate(jm):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                    fontweight="bold" if v > _sep.SEPARABLE_JM else "normal")
        fig.colorbar(im, ax=ax, label="JM")
        rep.image(fig, "JM per date and over all dates (bold: separable)")
        rep.table(["class pair"] + columns, [[f"{a} / {b}"] + list(v) for (a, b), v in zip(pairs, jm)], digits=3)
        rep.heading("Class profiles")
        fig = _report.figure(8, 4.5)
        ax = fig.add_subplot()
        t = np.arange(len(dates))
        for name, x in sorted(by_class.items()):
            x = x[np.isfinite(x).all(axis=1)]
            m, s = x.mean(axis=0), x.std(axis=0, ddof=1)
            line, = ax.plot(t, m, marker="o", ms=3, label=f"{name} (n={len(x)})")
            ax.fill_between(t, m - s, m + s, color=line.get_color(), alpha=0.15)
        ax.set_xticks(t, labels=dates, rotation=60, ha="right", fontsize=8)
        ax.set_ylabel("value")
        ax.legend(fontsize=8, ncol=2)
        rep.image(fig, "Class mean per date with ±1σ bands")
        rep.write(path)
