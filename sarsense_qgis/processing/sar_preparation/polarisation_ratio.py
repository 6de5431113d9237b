"""sarsense:polratio — the cross- over co-polarised ratio (VH/VV, HV/HH) in dB, date by date."""

from __future__ import annotations

from qgis.core import QgsProcessingParameterRasterDestination, QgsProcessingParameterRasterLayer

from ....algorithms import sar
from ....algorithms.io import read_info, run_blockwise
from ....algorithms.io import stack as _stack
from ...styles import style_on_load
from .. import checks, inputs, outputs
from ..base import WORKERS, SarsenseAlgorithm


class PolarisationRatioAlgorithm(SarsenseAlgorithm):
    CROSS, CO, INPUT_UNITS, OUTPUT = "CROSS", "CO", "INPUT_UNITS", "OUTPUT"

    def name(self):
        return "polratio"

    def displayName(self):
        return self.tr("Cross-polarisation ratio (VH/VV, HV/HH)")

    def tags(self):
        return self.tr("vh/vv,hv/hh,ratio,cross-polarisation,polarisation,sentinel-1,vegetation,dB,stack").split(",")

    def shortHelpString(self):
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

    @staticmethod
    def _dates(path):
        try:
            return _stack.band_dates(path)
        except ValueError:
            return None

    def process(self, parameters, context, feedback):
        co = inputs.raster_path(self, parameters, self.CO, context)
        cross = inputs.raster_path(self, parameters, self.CROSS, context)
        in_db = self.parameterAsEnum(parameters, self.INPUT_UNITS, context) == 1
        for path, name in ((co, self.CO), (cross, self.CROSS)):
            checks.units(self, path, "db" if in_db else "linear", units_param=self.INPUT_UNITS, name=name)
        co_dates, cross_dates = self._dates(co), self._dates(cross)
        co_info, cross_info = read_info(co), read_info(cross)
        n_co, n_cross = co_info.band_count, cross_info.band_count
        if (co_dates is None) != (cross_dates is None):
            dated, undated = (self.CO, self.CROSS) if co_dates is not None else (self.CROSS, self.CO)
            raise self.error(f"{self.label(dated)} is a dated stack but {self.label(undated)} has no dates in its band "
                             "descriptions: give both as dated stacks ('Build dated stack'), or both as single "
                             "rasters.")
        if co_dates is None:
            if n_co != n_cross:
                raise self.error(f"{self.label(self.CO)} has {n_co} band(s) and {self.label(self.CROSS)} {n_cross}, "
                                 "without dates to pair them: give dated stacks, or rasters with as many bands.")
            pairs = [(b, b) for b in range(1, n_co + 1)]
            descriptions = None
        else:
            try:   # the VH and VV of the same acquisitions (STYLE §8: a mismatch is refused, dates named)
                _stack.match_dates(co_dates, cross_dates, self.label(self.CO), self.label(self.CROSS))
            except ValueError as err:
                raise self.error(str(err)) from None
            pairs = [(i + 1, cross_dates.index(d) + 1) for i, d in enumerate(co_dates)]
            # the date with its time, as the VV stack gives it
            descriptions = [co_info.descriptions[c - 1] or co_dates[c - 1] for c, _ in pairs]
        if not cross_info.same_grid(co_info):
            cross = inputs.on_grid(self, cross, co, self.CROSS, feedback)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        n = len(pairs)
        bad = []

        def kernel(block):
            if not in_db:
                bad.append(int((block[:n] <= 0).sum() + (block[n:] <= 0).sum()))
            return sar.cross_ratio_db(block[n:], block[:n], in_db=in_db)

        res = run_blockwise([(co, [c for c, _ in pairs]), (cross, [x for _, x in pairs])], out, kernel, out_bands=n,
                            descriptions=descriptions, band_metadata=[{"units": "dB"}] * n, bytes_per_pixel=16,
                            compression=self.compression(parameters, context), workers=WORKERS,
                            **self.callbacks(feedback))
        if sum(bad):
            feedback.pushWarning(self.tr(f"{sum(bad)} zero or negative power value(s) have no dB value: NaN there."))
        outputs.report_infinite(self, feedback, res)
        feedback.pushInfo(self.tr(f"{n} band(s) written" + (f": {descriptions[0]} … {descriptions[-1]}"
                                                           if descriptions else "")))
        style_on_load(context, out)
        return {self.OUTPUT: out}
