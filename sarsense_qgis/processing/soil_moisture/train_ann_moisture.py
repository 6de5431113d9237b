"""sarsense:trainannmoisture — train the change detection + neural network hybrid on station samples, write ONNX."""

from __future__ import annotations

import numpy as np
from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
)

from ....algorithms import report as _report
from ....algorithms.io import Cancelled
from ....algorithms.soil_moisture import calibration, hybrid
from ....algorithms.soil_moisture import validation as val
from . import samples
from .base import SoilMoistureAlgorithm

SPLITS = hybrid.SPLITS
#: Methods scored on the held-out samples: key of :func:`hybrid.fit_and_score`, label.
METHODS = (("classic", "classic CD (eq. 2-3)"), ("corrected", "corrected CD (eq. 7, NDVI)"), ("hybrid", "ANN hybrid"))


#: The help text (help_text), translated when shown.
HELP = (
    "Trains the change detection + neural network hybrid of Fayad et al. (2022, §2.2.3) on station samples: "
    "three hidden layers of 20 ReLU neurons, mean squared error, Adam. Its output is bounded to [0, porosity] in "
    "the network (porosity·sigmoid of the last layer, where the paper's is linear), so the maps made with it "
    "never hold negative soil moisture nor more than the pores hold. Several members from different random starts "
    "are averaged; their spread is written by 'Map soil moisture with the neural network' as a per-pixel "
    "uncertainty.\n\n"
    "Predictors (default: the paper's best set, VV, NDVI, θ, ΔVV, I_SSM, VH/VV, SSM_t) are read from fields "
    "of the same name; VH/VV, ΔVV, I_SSM and SSM_t are derived from the stations' VV (and VH) series when "
    "absent (eq. 2-3, 5-6; in-situ extremes from training samples only).\n\n"
    "The split is by station by default: whole stations are held out, because a random split puts days of "
    "a station's own series in its test set and flatters the score. The report gives both figures (the "
    "paper's random split: RMSE 0.062 m³/m³). The model (.onnx, SARSense contract: inputs in order, "
    "standardisation, outputs soil moisture and spread) is trained on the training part, the one the report "
    "assesses.")


class TrainAnnMoistureAlgorithm(SoilMoistureAlgorithm):
    SAMPLES, INPUTS, SSM_FIELD, SEED, TRAIN_FRACTION, SPLIT, ENSEMBLE = (
        "SAMPLES", "INPUTS", "SSM_FIELD", "SEED", "TRAIN_FRACTION", "SPLIT", "ENSEMBLE")
    OUTPUT_MODEL, OUTPUT_HTML, RMSE, R = "OUTPUT_MODEL", "OUTPUT_HTML", "RMSE", "R"
    requires = ("skl2onnx", "onnxruntime")     # skl2onnx brings the onnx package the model is written with

    def name(self):
        return "trainannmoisture"

    def displayName(self):
        return self.tr("Train soil moisture neural network (CD + ANN hybrid)")

    def tags(self):
        return self.tr("ann,neural network,mlp,hybrid,change detection,soil moisture,train,onnx,ensemble").split(",")

    def help_text(self):
        return self.tr(HELP)

    def initAlgorithm(self, config=None):
        samples.add_samples(self)
        self.add(QgsProcessingParameterEnum(self.INPUTS, self.tr("Predictors"),
                                            options=[p[1] for p in hybrid.PREDICTORS], allowMultiple=True,
                                            defaultValue=[hybrid.KEYS.index(k) for k in hybrid.BEST_SET]),
                 "The network's inputs, in this order (default: the paper's set (i)).")
        samples.add_field(self, self.SSM_FIELD, "In-situ soil moisture field (m³/m³)", "ssm_insitu", "The target.")
        samples.add_split(self,
                          "Seed of the split and of the networks' initialisation: the same seed gives the same model.",
                          "Share of the stations (or samples) used for training (the paper: 70 %).")
        self.add(QgsProcessingParameterEnum(self.SPLIT, self.tr("Split"),
                                            options=["By station (whole stations held out)",
                                                     "Random samples (the paper)"], defaultValue=0),
                 "By station (default) tests on stations the network never saw.")
        self.add_orbits()
        self.add_porosity(help_text="The network's output is bounded to [0, porosity] (the soil's saturated water "
                                    "content): in-situ values above it cannot be learnt, and are counted.",
                          clipped=False)
        self.add(QgsProcessingParameterNumber(self.ENSEMBLE, self.tr("Ensemble members"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=5, minValue=1,
                                              maxValue=50), "Networks averaged; their spread is the uncertainty.")
        self.add(QgsProcessingParameterFileDestination(self.OUTPUT_MODEL, self.tr("Model (ONNX)"),
                                                       fileFilter="ONNX model (*.onnx)"),
                 "For 'Map soil moisture with the neural network' (or any SARSense model runner).")
        self.add_html_output(self.OUTPUT_HTML, "Training report",
                             "HTML: held-out RMSE/ubRMSE/R/bias of the hybrid and classic CD, both splits, scatter.")
        self.addOutput(QgsProcessingOutputNumber(self.RMSE, self.tr("Held-out RMSE (m³/m³)")))
        self.addOutput(QgsProcessingOutputNumber(self.R, self.tr("Held-out R")))
        for m, label in METHODS[:2]:
            self.addOutput(QgsProcessingOutputNumber(f"RMSE_{m.upper()}",
                                                     self.tr("Held-out RMSE, {0} (m³/m³)").format(label)))
            self.addOutput(QgsProcessingOutputNumber(f"R_{m.upper()}", self.tr("Held-out R, {0}").format(label)))

    def _run(self, s, keys, ssm, split, fraction, seed, members, porosity, feedback):
        """Split, assemble the predictors, train; the held-out scores of the hybrid and both change detections."""
        have = np.isfinite(ssm)
        if split == "station" and len(set(s.station[have])) < 2:
            raise self.error(f"the samples hold one station only ({s.station[have][0]}): a split by station needs at "
                             "least two (one to train, one to test). Add stations, or choose the random split.")
        train = hybrid.split_training(s.station, have, by=split, fraction=fraction, seed=seed)
        if feedback.isCanceled():
            raise Cancelled()
        try:
            r = hybrid.fit_and_score(keys, s.values, s.station, ssm, train, members=members, seed=seed, series=s.series,
                                     porosity=porosity)
        except ValueError as err:
            raise self.error(f"{err}.") from None
        above = int(np.count_nonzero(ssm[r["train"]] > porosity))
        if above:
            feedback.pushWarning(self.tr("{0} training sample(s) hold more soil moisture than the porosity {1:g} "
                                         "m³/m³: the network cannot exceed it. Raise {2} to the soil's saturated water "
                                         "content if they are right.").format(above, porosity,
                                                                              self.label(self.POROSITY)))
        feedback.pushInfo(self.tr("split by {0}: trained on {1} samples ({2} stations), tested on {3} ({4} "
                                  "stations)").format(split, int(r["train"].sum()), len(set(s.station[r["train"]])),
                                                      int(r["test"].sum()), len(set(s.station[r["test"]]))))
        return r

    def process(self, parameters, context, feedback):
        f_ssm = samples.field(self, parameters, self.SSM_FIELD, context)
        chosen = self.parameterAsEnums(parameters, self.INPUTS, context)
        if not chosen:
            raise self.error(f"choose at least one predictor in {self.label(self.INPUTS)}.")
        keys = [hybrid.KEYS[i] for i in chosen]
        source = self.parameterAsSource(parameters, self.SAMPLES, context)
        if source is None:
            raise self.error(self.invalidSourceError(parameters, self.SAMPLES))
        numeric = [f.name() for f in source.fields() if f.isNumeric() and f.name() != f_ssm]
        s = samples.read_samples(self, parameters, self.SAMPLES, context, numeric + [f_ssm], feedback=feedback)
        ssm = s[f_ssm]
        seed = self.parameterAsInt(parameters, self.SEED, context)
        fraction = self.parameterAsDouble(parameters, self.TRAIN_FRACTION, context)
        split = SPLITS[self.parameterAsEnum(parameters, self.SPLIT, context)]
        members = self.parameterAsInt(parameters, self.ENSEMBLE, context)
        porosity = self.series_options(parameters, context).porosity
        samples.check_field(self, s, self.SSM_FIELD, f_ssm, "soil_moisture")
        samples.check_predictors(self, s, self.INPUTS, keys)
        samples.series_keys(self, parameters, context, feedback, s)   # ΔVV, I_SSM and SSM_t per station and orbit
        runs = {split: self._run(s, keys, ssm, split, fraction, seed, members, porosity, feedback)}
        feedback.setProgress(45)
        other = "random" if split == "station" else "station"
        try:
            runs[other] = self._run(s, keys, ssm, other, fraction, seed, members, porosity, feedback)
        except Exception as err:  # the comparison split may be impossible (one station): reported, not fatal
            feedback.pushWarning(self.tr("no comparison with the split by {0}: {1}").format(other, err))
        feedback.setProgress(90)
        main = runs[split]
        for how, r in runs.items():
            feedback.pushInfo(self.tr("held out (split by {0}): {1}").format(how, "; ".join(
                f"{label} RMSE {r[m]['rmse']:.4f} m³/m³, R {r[m]['r']:.3f}" for m, label in METHODS if m in r)))
        model_path = self.parameterAsFileOutput(parameters, self.OUTPUT_MODEL, context)
        stations = sorted(set(s.station[main["train"]]))
        summary = (f"{int(main['train'].sum())} samples at {len(stations)} stations; split by {split}, seed {seed}; "
                   f"held-out RMSE {main['hybrid']['rmse']:.4f} m³/m³, R {main['hybrid']['r']:.3f} "
                   f"({main['hybrid']['n']} samples)")
        c = hybrid.contract(main["ens"], keys, name="soil_moisture_hybrid_user", training_data=summary,
                            summary="trained with sarsense:trainannmoisture on the user's station samples")
        hybrid.to_onnx(main["ens"], model_path, c)
        html = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        _write_report(html, s, keys, runs, split, ssm, seed, fraction, members)
        out = {self.OUTPUT_MODEL: model_path, self.OUTPUT_HTML: html, self.RMSE: main["hybrid"]["rmse"],
               self.R: main["hybrid"]["r"]}
        for m, _ in METHODS[:2]:
            if m in main:
                out[f"RMSE_{m.upper()}"], out[f"R_{m.upper()}"] = main[m]["rmse"], main[m]["r"]
        return out


def _write_report(path, s, keys, runs, split, ssm, seed, fraction, members):
    """The training report (HTML): predictors, held-out scores of both splits, the corrected CD's α, β, scatter."""
    names = {p[0]: p[1] for p in hybrid.PREDICTORS}
    rep = _report.Report("Soil moisture neural network (CD + ANN hybrid): training",
                         source=f"{len(s)} station samples at {len(set(s.station))} stations, from "
                                f"{s.origin}.")
    main = runs[split]
    rep.paragraph(f"Network: 3 hidden layers × 20 ReLU, output porosity·sigmoid (bounded to [0, "
                  f"{main['ens'].porosity:g}] m³/m³), MSE, Adam; {members} members (seeds "
                  f"{seed}…{seed + members - 1}); iterations {main['ens'].iterations}. Training fraction "
                  f"{fraction:g}.")
    rep.table(["predictor", "source"], [[names[k], main["how"][k]] for k in keys], caption="Predictors, in order")
    rows = []
    for how, r in runs.items():
        for m, label in METHODS:
            if m in r:
                sc = r[m]
                rows.append([f"{label}, split by {how}{' (this model)' if how == split and m == 'hybrid' else ''}",
                             sc["n"], sc["rmse"], sc["ubrmse"], sc["r"], sc["bias"]])
    rep.table(["method", "N", "RMSE", "ubRMSE", "R", "bias"], rows, caption="Held-out scores (m³/m³)", digits=4)
    if "alpha" in main:
        rep.paragraph(f"Corrected CD: α = {main['alpha']:.4g}, β = {main['beta']:.4g} (ΔVV = (α − β·NDVI)·ΔSSM), "
                      "fitted on the same training samples.")
        ndvi_key = hybrid.find_field("NDVI", s.values)
        for flag in calibration.plausibility(main["alpha"], main["beta"], v1=s[ndvi_key] if ndvi_key else [],
                                             scores_classic=main.get("classic"),
                                             scores_corrected=main.get("corrected")):
            rep.paragraph(f"Warning, corrected CD flagged: {flag['message']}.", note=True)
    if "random" in runs:
        rep.paragraph("A random split puts days of each test station's own series into training: its scores are "
                      "optimistic for new stations.", note=True)
    rep.paragraph("The paper (Fayad et al. 2022 §3.2, ISMN stations worldwide, random 70/30 split): classic CD "
                  "0.074 m³/m³, corrected CD 0.068, hybrid with set (i) 0.062 (R 0.77).")
    te = main["test"]
    ndvi_key = hybrid.find_field("NDVI", s.values)
    rep.image(val.scatter_figure(main["est"][te], ssm[te], s[ndvi_key][te] if ndvi_key else None,
                                 title=f"ANN hybrid, held out (split by {split})"))
    rep.write(path)
