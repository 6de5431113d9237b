"""sarsense:annmoisture — soil moisture maps from the CD + ANN hybrid (bundled or user-trained ONNX model)."""

from __future__ import annotations

import os

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterFile,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterRasterDestination,
)

from ....algorithms import onnx as rt
from ....algorithms.io import read_info
from ....algorithms.io import stack as _stack
from ....algorithms.soil_moisture import hybrid, terrain
from ...styles import SSM_RAMP, style_on_load
from .. import checks, inputs, outputs
from ..names import model_name
from . import frozen
from .base import SoilMoistureAlgorithm

BUNDLED = os.path.join(str(rt.BUNDLED_MODELS_DIR), "soil_moisture_hybrid.onnx")


predictor_key = hybrid.predictor_key
#: θ where the data have none: a constant-angle raster (issue #29).
THETA_HINT = (f"{terrain.NO_INCIDENCE_HINT} (a one-band raster of that angle on the VV grid: Raster calculator, "
              '"VV@1" * 0 + 39')


class AnnMoistureAlgorithm(SoilMoistureAlgorithm):
    INPUTS, MODEL, OUTPUT, OUTPUT_SPREAD = "INPUTS", "MODEL", "OUTPUT", "OUTPUT_SPREAD"
    requires = ("onnxruntime",)

    def name(self):
        return "annmoisture"

    def displayName(self):
        return self.tr("Map soil moisture with the neural network (CD + ANN hybrid)")

    def tags(self):
        return self.tr("ann,neural network,hybrid,soil moisture,map,onnx,ensemble,uncertainty").split(",")

    def help_text(self):
        return self.tr(
            "Maps surface soil moisture (m³/m³) with a network trained by 'Train soil moisture neural network' (or "
            "the bundled one, trained on simulated backscatter: see its card). Give one raster per predictor, in the "
            "model's input order (the log and the error say which); each is a dated stack or a single raster. Stacks "
            "are matched by date (the dates all stacks share are mapped); a single-band raster without a date (an "
            "incidence-angle map) serves every date. Rasters on another grid are resampled onto the first's.\n\n"
            "The predictors are checked against the model's contract, by count and by name, before anything runs. "
            "The optional spread output is the standard deviation of the ensemble's members: where they disagree, "
            "the estimate is less certain (a lower bound of the error, not a calibrated one). Block by block, at "
            "bounded memory; a NaN predictor gives a NaN pixel. The map is clipped to [0, porosity] (the soil's "
            "saturation), the pixel-dates clipped counted in the log and the output CLIPPED; pixel-dates with a "
            "predictor far beyond the training data are counted too.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterMultipleLayers(self.INPUTS, self.tr("Predictor rasters (in the model's order)"),
                                                      layerType=QgsProcessing.TypeRaster),
                 "One raster per model input, in order (bundled model: VV, NDVI, θ, ΔVV, I_SSM, VH/VV, SSM_t).")
        self.add(QgsProcessingParameterFile(self.MODEL, self.tr("Model (ONNX)"), extension="onnx", optional=True),
                 "A model from 'Train soil moisture neural network'. Empty: the bundled model.")
        self.add_porosity()
        frozen.add_parameters(self)
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Soil moisture")),
                 "Float32, one band per date (m³/m³), NaN nodata.")
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT_SPREAD, self.tr("Ensemble spread"),
                                                         optional=True, createByDefault=False),
                 "Float32, one band per date: the members' standard deviation (m³/m³).")

    def _model(self, parameters, context):
        path = self.parameterAsFile(parameters, self.MODEL, context) or BUNDLED
        if not os.path.isfile(path):
            raise self.error(f"the bundled model {os.path.basename(BUNDLED)} is missing from this installation; give "
                             f"a model from 'Train soil moisture neural network' in {self.label(self.MODEL)}.")
        # one onnxruntime thread per call, WORKERS blocks at once: a per-pixel network's small matrix
        # products scale better over blocks than inside one call (4096² × 7 predictors, 2 cores: 4.75 s,
        # against 5.9 s with onnxruntime's own threads as well)
        model = rt.Model(path, threads=1)
        if model.contract.task != "per_pixel_regression":
            raise self.error(f"'{os.path.basename(path)}' is a {model.contract.task} model; this needs a per-pixel "
                             "regression model from 'Train soil moisture neural network'.")
        return model

    def process(self, parameters, context, feedback):
        model = self._model(parameters, context)
        c = model.contract
        layers = inputs.raster_layers(self, parameters, self.INPUTS, context)   # (name, path)
        wanted = ", ".join(f"{n} ({u})" if u else n for n, u in c.channels)
        names = [predictor_key(n) for n, _ in c.channels]
        if len(layers) != c.n_inputs:
            theta = "theta" in names and "theta" not in {predictor_key(lname) for lname, _ in layers}
            raise self.error(f"model '{c.name}' needs {c.n_inputs} predictor rasters in this order: {wanted}; "
                             f"{len(layers)} given ({', '.join(lname for lname, _ in layers)})."
                             + (f" θ is a one-band raster without a date (it serves every date). {THETA_HINT}."
                                if theta else ""))
        for i, (lname, _) in enumerate(layers):
            n = predictor_key(lname)
            if n is not None and n in names and names.index(n) != i:
                raise self.error(f"raster {i + 1} is '{lname}', which is input {names.index(n) + 1} of model "
                                 f"'{c.name}': give the rasters in the model's order ({wanted}).")
        outputs.report_model(self, feedback, model)
        ref = layers[0][1]
        ref_info = read_info(ref)
        paths, dated = [], []
        for (lname, path), (cname, units) in zip(layers, c.channels):
            info = read_info(path)
            if not info.same_grid(ref_info):
                path = inputs.on_grid(self, path, ref, self.INPUTS, feedback)
            where = f"{self.label(self.INPUTS)}, '{lname}' (input {cname})"
            checks.require_valid(self, path, where)      # a label() of no parameter is the text itself
            self.check_predictor(path, predictor_key(cname), units, where)
            try:
                dates = _stack.band_dates(path)
            except ValueError:
                if info.band_count != 1:
                    raise self.error(f"'{lname}' has several bands without dates: give dated stacks.") from None
                dates = None
            if dates is not None:
                _stack.check_series(path, label=f"'{lname}' (input {cname})")
            paths.append(path)
            dated.append(dates)
        stacks = [d for d in dated if d is not None]
        if not stacks:
            raise self.error("no predictor raster has a date: at least one must be a dated stack.")
        common = sorted(set(stacks[0]).intersection(*map(set, stacks[1:])))
        if not common:
            listing = "; ".join(f"{lname}: {', '.join(d[:4])}{' …' if len(d) > 4 else ''}"
                                for (lname, _), d in zip(layers, dated) if d)
            raise self.error(f"the predictor stacks share no date ({listing}): interpolate them onto the radar dates "
                             "first ('Interpolate a dated stack in time').")
        dropped = sorted(set().union(*map(set, stacks)) - set(common))
        if dropped:
            feedback.pushWarning(self.tr("{0} date(s) not in every stack are left out: {1}{2}.").format(
                len(dropped), ", ".join(dropped[:8]), " …" if len(dropped) > 8 else ""))
        date_inputs = [[(p, d.index(day) + 1 if d is not None else 1) for p, d in zip(paths, dated)] for day in common]
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        spread = self.parameterAsOutputLayer(parameters, self.OUTPUT_SPREAD, context) \
            if parameters.get(self.OUTPUT_SPREAD) else None
        screen = frozen.read_screen(self, parameters, context, feedback, ref, common)
        series = self.series_options(parameters, context, frozen=screen)
        res = hybrid.map_soil_moisture(model, date_inputs, common, out, spread, series=series, options=self.run_options(
            parameters, context, feedback, empty_hint=self.tr("the predictor rasters share no pixel-date where every "
                                                              "one of them is valid: check their cover and dates.")))
        outputs.report_nonfinite(self, feedback, model)
        outputs.report_counts(self, feedback, res, {
            "no_input": "{n} pixel-dates have some predictors but not all (no NDVI, ΔVV … there) and are NaN.",
            "outside": f"{{n}} pixel-dates have a predictor more than {hybrid.OUTSIDE_SD:g} standard deviations from "
                       "its training mean (beyond the model's training data): mapped, but the network extrapolates "
                       "there."})
        clipped = self.report_clipped(feedback, res, series.porosity)
        feedback.pushInfo(self.tr("{0} date(s) mapped: {1} … {2}").format(len(common), common[0], common[-1]))
        style_on_load(context, out, ramp=SSM_RAMP, name=model_name(self.tr("Soil moisture"), model, "CD + ANN hybrid"),
                      force_name=model.card.demonstration)
        results = {self.OUTPUT: out, self.CLIPPED: clipped}
        if spread:
            results[self.OUTPUT_SPREAD] = spread
        return frozen.report(self, context, feedback, res, screen, results)
