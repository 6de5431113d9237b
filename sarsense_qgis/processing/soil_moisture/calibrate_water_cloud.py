"""sarsense:calibratewatercloud — A and B of the Water Cloud Model from station samples."""

from __future__ import annotations

import json

import numpy as np
from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFileDestination,
)

from ....algorithms import report as _report
from ....algorithms.soil_moisture import hybrid
from ....algorithms.soil_moisture import validation as val
from ....algorithms.soil_moisture import water_cloud as wc
from . import samples
from .base import SoilMoistureAlgorithm


class CalibrateWaterCloudAlgorithm(SoilMoistureAlgorithm):
    SAMPLES, SIGMA_FIELD, NDVI_FIELD, THETA_FIELD, SSM_FIELD, SEED, TRAIN_FRACTION = (
        "SAMPLES", "SIGMA_FIELD", "NDVI_FIELD", "THETA_FIELD", "SSM_FIELD", "SEED", "TRAIN_FRACTION")
    OUTPUT_PARAMS, OUTPUT_HTML, A, B, RMSE_DB, RMSE_SSM, FLAGS = (
        "OUTPUT_PARAMS", "OUTPUT_HTML", "A", "B", "RMSE_DB", "RMSE_SSM", "FLAGS")

    def name(self):
        return "calibratewatercloud"

    def displayName(self):
        return self.tr("Calibrate Water Cloud Model")

    def tags(self):
        return self.tr("water cloud model,wcm,calibration,a,b,vegetation,lai,ndvi,soil moisture,station").split(",")

    def help_text(self):
        return self.tr(
            "Fits A and B of the Water Cloud Model that 'Water Cloud Model: soil and vegetation backscatter' uses, "
            "on station samples (as 'Extract raster values at stations' writes: σ° in dB, NDVI, incidence angle "
            "and in-situ soil moisture): σ° = A·LAI·cos θ·(1 − τ²) + τ²·σ°_soil, τ² = exp(−2·B·LAI·sec θ), LAI = "
            "0.57·exp(2.33·NDVI) (Rahimabadi & Jamali 2019, eq. 1, 4-6), with the soil term linear in moisture in "
            "dB, σ°_soil = C + D·mv (Attema & Ulaby 1978). Least squares in dB on the training part of the samples "
            "(random, seeded); on the held-out part, the σ° error (dB) and the soil moisture retrieved by inverting "
            "the model against in situ.\n\n"
            "The parameters (JSON: a, b, c, d, the split, the scores, flags) feed the Water Cloud Model's "
            "parameters file. A fit with A or B at 0, D ≤ 0 (the radar darker as the soil wets) or most held-out "
            "samples left NaN is flagged in the log, the report and the Flags output. Fitted A and B hold for the "
            "samples' crop, sensor, polarisation and incidence range only.")

    def initAlgorithm(self, config=None):
        samples.add_samples(self)
        for name, label, default, text in (
                (self.SIGMA_FIELD, "Backscatter field σ° (dB)", "VV", "σ° in dB (VV as the paper)."),
                (self.NDVI_FIELD, "NDVI field", "NDVI", "NDVI on the acquisition date."),
                (self.THETA_FIELD, "Incidence angle field (degrees)", "theta", "Incidence angle θ."),
                (self.SSM_FIELD, "In-situ soil moisture field (m³/m³)", "ssm_insitu", "The matched in-situ value.")):
            samples.add_field(self, name, label, default, text)
        samples.add_split(self, "Seed of the training/validation split: the same seed gives the same split.",
                          "Share of the samples used to fit.")
        self.add(QgsProcessingParameterFileDestination(self.OUTPUT_PARAMS, self.tr("Parameters (JSON)"),
                                                       fileFilter="JSON (*.json)"),
                 "a, b, c, d, the split, the held-out scores and the flags: the Water Cloud Model's parameters file.")
        self.add_html_output(self.OUTPUT_HTML, "Calibration report",
                             "HTML: the coefficients, held-out scores of σ° and of the retrieved soil moisture, "
                             "scatter plots.")
        for name, label in ((self.A, "A (vegetation backscatter per unit LAI)"),
                            (self.B, "B (vegetation attenuation per unit LAI)"),
                            (self.RMSE_DB, "Held-out RMSE of σ° (dB)"),
                            (self.RMSE_SSM, "Held-out RMSE of the retrieved soil moisture (m³/m³)")):
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(label)))
        self.addOutput(QgsProcessingOutputString(self.FLAGS, self.tr("Flags (empty when the fit is plausible)")))

    def process(self, parameters, context, feedback):
        fields = [samples.field(self, parameters, n, context)
                  for n in (self.SIGMA_FIELD, self.NDVI_FIELD, self.THETA_FIELD, self.SSM_FIELD)]
        s = samples.read_samples(self, parameters, self.SAMPLES, context, fields, feedback=feedback,
                                 hints={fields[2]: hybrid.THETA_FIELD_HINT})
        for name, f, quantity in zip((self.SIGMA_FIELD, self.NDVI_FIELD, self.THETA_FIELD, self.SSM_FIELD), fields,
                                     ("sigma0_db", "ndvi", "incidence_deg", "soil_moisture")):
            samples.check_field(self, s, name, f, quantity)
        origin = s.origin
        seed = self.parameterAsInt(parameters, self.SEED, context)
        fraction = self.parameterAsDouble(parameters, self.TRAIN_FRACTION, context)
        sig, ndvi, theta, ssm = (s[f] for f in fields)
        r = wc.fit(sig, ndvi, theta, ssm, fraction=fraction, seed=seed)
        coef = f"A = {r['a']:.4g}, B = {r['b']:.4g}, C = {r['c']:.4g} dB, D = {r['d']:.4g} dB per m³/m³"
        feedback.pushInfo(self.tr("{0}; fit residual {1:.3f} dB on {2} samples.").format(
            coef, r["residual_db"], int(r["train"].sum())))
        sd, sm = r["scores_db"], r["scores_ssm"]
        feedback.pushInfo(self.tr("held out ({0} samples): σ° RMSE {1:.3f} dB; retrieved soil moisture RMSE {2:.4f} "
                                  "m³/m³, R {3:.3f} ({4:.0f} % NaN).").format(
            int(r["held"].sum()), sd["rmse"], sm["rmse"], sm["r"], 100 * r["nan_share"]))
        for flag in r["flags"]:
            feedback.pushWarning(self.tr("Calibration flagged: {0}.").format(flag["message"]))
        path = self.parameterAsFileOutput(parameters, self.OUTPUT_PARAMS, context)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"model": "σ° = A·LAI·cos θ·(1 − τ²) + τ²·10^((C + D·mv)/10), τ² = exp(−2·B·LAI·sec θ), "
                                "LAI = 0.57·exp(2.33·NDVI) (Attema & Ulaby 1978; Rahimabadi & Jamali 2019, "
                                "eq. 1, 4-6)",
                       "a": r["a"], "b": r["b"], "c": r["c"], "d": r["d"], "fields": fields, "seed": seed,
                       "train_fraction": fraction, "fit_residual_db": r["residual_db"],
                       "split": {"train": [int(i) for i in np.flatnonzero(r["train"])],
                                 "held_out": [int(i) for i in np.flatnonzero(r["held"])]},
                       "held_out": {"sigma_db": sd, "ssm": sm, "nan_share": r["nan_share"]}, "flags": r["flags"],
                       "samples": origin}, fh, indent=1, ensure_ascii=False, allow_nan=True)
        html = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        rep = _report.Report("Water Cloud Model: calibration",
                             source=f"{len(s)} station samples, {len(set(s.station))} stations, from {origin}; "
                                    f"fields σ° '{fields[0]}', NDVI '{fields[1]}', θ '{fields[2]}', in situ "
                                    f"'{fields[3]}'.")
        for flag in r["flags"]:
            rep.paragraph(f"Warning, calibration flagged: {flag['message']}.", note=True)
        rep.paragraph(f"{coef}, fitted on {int(r['train'].sum())} samples (random {100 * fraction:g} %, seed {seed}); "
                      f"residual {r['residual_db']:.3f} dB. Use A and B (or this JSON) in 'Water Cloud Model: soil "
                      "and vegetation backscatter'; they hold for these samples' crop, sensor and angles.")
        rep.table(["held out", "N", "RMSE", "ubRMSE", "R", "bias"],
                  [["σ° forward (dB)", sd["n"], sd["rmse"], sd["ubrmse"], sd["r"], sd["bias"]],
                   ["soil moisture retrieved (m³/m³)", sm["n"], sm["rmse"], sm["ubrmse"], sm["r"], sm["bias"]]],
                  caption=f"Held-out samples ({100 * r['nan_share']:.0f} % of them left NaN by the inversion)",
                  digits=4)
        held = r["held"]
        rep.image(val.scatter_figure(r["estimate"], ssm[held], ndvi[held],
                                     title="Soil moisture retrieved with the fitted model (held out)"))
        rep.write(html)
        return {self.OUTPUT_PARAMS: path, self.OUTPUT_HTML: html, self.A: r["a"], self.B: r["b"],
                self.RMSE_DB: sd["rmse"], self.RMSE_SSM: sm["rmse"],
                self.FLAGS: ",".join(f["code"] for f in r["flags"])}
