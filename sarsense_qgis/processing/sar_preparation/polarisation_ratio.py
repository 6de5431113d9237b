"""sarsense:polratio — the cross- over co-polarised ratio (VH/VV, HV/HH) in dB, date by date."""

from __future__ import annotations

from qgis.core import QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer

from ....algorithms import sar
from ...styles import style_on_load
from .. import checks, inputs, names, outputs
from ..base import SarsenseAlgorithm


class PolarisationRatioAlgorithm(SarsenseAlgorithm):
    CROSS, CO, INPUT_UNITS, OUTPUT = "CROSS", "CO", "INPUT_UNITS", "OUTPUT"

    def name(self):
        return "polratio"

    def displayName(self):
        return self.tr("Cross-polarisation ratio (VH/VV, HV/HH)")

    def tags(self):
        return self.tr("vh/vv,hv/hh,ratio,cross-polarisation,polarisation,sentinel-1,vegetation,dB,stack").split(",")

    def help_text(self):
        return self.tr(
            "The cross- over co-polarised backscatter ratio, in dB: 10·log10(σ⁰VH/σ⁰VV) = σ⁰VH[dB] − σ⁰VV[dB] (or "
            "HV/HH). Fayad et al. (2022) use VH/VV as a vegetation descriptor in the corrected change detection and "
            "as a predictor of the hybrid network (set (i)); 'Map soil moisture with the neural network' takes this "
            "stack as its VH/VV input.\n\n"
            "Give two dated stacks on the same dates (ISO dates in the band descriptions, as 'Build dated stack' "
            "writes): bands are paired by date, in the co-polarised stack's order; dates one stack lacks are named "
            "and refused. Two single rasters without dates are paired band by band. The cross-polarised raster is "
            "resampled onto the co-polarised one's grid if it is on another. Zero or negative linear power gives NaN "
            "(counted in the log). Output: float32, one band per date, dB, NaN nodata.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.CROSS, self.tr("Cross-polarised stack (VH or HV)")),
                 "Dated stack or single raster of σ⁰VH (or σ⁰HV).")
        self.add(QgsProcessingParameterRasterLayer(self.CO, self.tr("Co-polarised stack (VV or HH)")),
                 "Dated stack or single raster of σ⁰VV (or σ⁰HH); the output takes its grid.")
        self.add_units(what="both stacks")
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Cross-polarisation ratio (dB)")),
                 "Float32 GeoTIFF, one band per shared date (dB), NaN nodata.")

    def process(self, parameters, context, feedback):
        co = inputs.raster_path(self, parameters, self.CO, context)
        cross = inputs.raster_path(self, parameters, self.CROSS, context)
        in_db = self.parameterAsEnum(parameters, self.INPUT_UNITS, context) == 1
        # which bands pair (dates, band counts) first: a raster that is no stack of the same dates says so
        pairs = sar.pair_bands(co, cross, co_label=self.label(self.CO), cross_label=self.label(self.CROSS))
        for path, name in ((co, self.CO), (cross, self.CROSS)):
            checks.units(self, path, "db" if in_db else "linear", units_param=self.INPUT_UNITS, name=name)
        if not pairs.same_grid:
            cross = inputs.on_grid(self, cross, co, self.CROSS, feedback)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        res = sar.cross_ratio_file(co, cross, out, pairs=pairs, in_db=in_db,
                                   options=self.run_options(parameters, context, feedback))
        outputs.report_counts(self, feedback, res, {
            "nonpositive": "{n} zero or negative power value(s) have no dB value: NaN there."})
        outputs.report_infinite(self, feedback, res)
        described = pairs.descriptions
        feedback.pushInfo(self.tr("{0} band(s) written{1}").format(
            len(pairs.pairs), f": {described[0]} … {described[-1]}" if described else ""))
        style_on_load(context, out, name=names.layer_name(self.tr("Cross-polarisation ratio"),
                                                          names.input_details(co)[1]), unit="dB")
        return {self.OUTPUT: out}
