"""What the Land surface temperature algorithms share: the group, LST units, MODIS HDF input, styling."""

from __future__ import annotations

import numpy as np
from qgis.core import QgsProcessingParameterBoolean, QgsProcessingParameterEnum

from ....algorithms.io import sample_values
from ....algorithms.io.raster import band_scaling, open_dataset
from ....algorithms.lst import pipeline, temperature
from ...styles import THERMAL_COLOURS, style_on_load
from .. import checks, inputs
from ..base import SarsenseAlgorithm

#: Order of the LST INPUT_UNITS enum.
LST_UNITS = ("Kelvin (K)", "Celsius (°C)")


class LstAlgorithm(SarsenseAlgorithm):
    _group = ("Land surface temperature", "landsurfacetemperature")
    QC_FILTER = "QC_FILTER"

    def add_lst_units(self, name="INPUT_UNITS", what="the input LST"):
        self.add(QgsProcessingParameterEnum(name, self.tr("Input units"), options=list(LST_UNITS), defaultValue=0),
                 "Units of {0}: kelvin (MODIS, ASTER, Landsat Collection 2 surface temperature) or °C. "
                 "Computations run in kelvin; outputs keep these units. Values are checked against this choice "
                 "(below 150 K is °C; above 150 °C is kelvin). A MODIS HDF subdataset is always kelvin.",
                 help_args=(what,))

    def add_qc_filter(self):
        self.add(QgsProcessingParameterBoolean(self.QC_FILTER, self.tr("MODIS: keep only good-quality LST"),
                                               defaultValue=True),
                 "For a MOD11A1/MYD11A1 HDF subdataset (LST_Day_1km or LST_Night_1km): keep only pixels whose QC "
                 "mandatory flag (bits 0–1) is 00, 'LST produced, good quality'. Off: every produced LST value is "
                 "kept (also 'other quality', whose error can reach 2–3 K). Ignored for other rasters.")

    def lst_units(self, parameters, context, name="INPUT_UNITS"):
        return temperature.UNITS[self.parameterAsEnum(parameters, name, context)]

    def lst_source(self, parameters, name, context, *, units_name="INPUT_UNITS", feedback=None):
        """The LST input as a :class:`pipeline.LstSource`, checked (not all NaN, values matching the units)."""
        path = inputs.raster_path(self, parameters, name, context)
        qc = self.parameterAsBool(parameters, self.QC_FILTER, context) if self.parameterDefinition(self.QC_FILTER) \
            else True
        try:
            src = pipeline.LstSource(path, self.lst_units(parameters, context, units_name), qc_filter=qc)
        except ValueError as err:
            raise self.error(f"{self.label(name)}: {err}.") from None
        if not src.modis:       # a MODIS subdataset is decoded with its own scale and valid range
            self.check_lst_values(path, name, src.units)
        src.check(label=self.label(name))
        if src.modis and feedback is not None:
            scale, offset, fill, lo, hi = src.decoding
            feedback.pushInfo(self.tr(
                "{0} is a MODIS LST subdataset: value = raw × {1:g} + {2:g} K, fill {3:g}, valid raw range "
                "{4:g}–{5:g}; QC filter {6}.").format(self.label(name), scale, offset, fill, lo, hi,
                                                      "on (good quality only)" if qc else "off"))
            self.report_qc(src, feedback, self.run_options(parameters, context, feedback, progress=None))
        return src

    def check_lst_values(self, path, name, units):
        """Refuse a raster whose values are no land-surface temperature in ``units`` (:func:`.checks.value_range`,
        after the band's scale), naming the likely cause: an undeclared nodata value, raw MODIS DN, a wrong declared
        scale (:func:`temperature.scale_hint`)."""
        sample = sample_values(path, max_side=128)
        if not np.isfinite(sample).any():
            return      # no valid pixel: LstSource.check says so
        fill = temperature.undeclared_fill(sample, units)
        if fill:
            raise self.error(f"{self.label(name)}: {fill}.")
        ds = open_dataset(path)     # held while its band is read: GDAL frees a band with its dataset
        hint = temperature.scale_hint(sample, units, band_scaling(ds.GetRasterBand(1)))
        del ds
        checks.value_range(self, path, name, "lst_kelvin" if units == "kelvin" else "lst_celsius", hint=hint)

    def check_same_units(self, ref, ref_name, path, name, units):
        """Refuse raster ``path`` (parameter ``name``) whose values differ from the checked reference ``ref``
        (:class:`pipeline.LstSource`, parameter ``ref_name``) by the kelvin–°C offset: one is in kelvin, the other in
        °C, and the units choice reads both the same way (naming both, with their medians)."""
        if pipeline.modis.parse_subdataset(path) is not None:
            return      # a MODIS subdataset is kelvin; the reference's own check covers it
        sample = sample_values(path, max_side=128)
        sample = sample[np.isfinite(sample)]
        if sample.size == 0 or ref.sample is None or ref.sample.size == 0:
            return
        median, ref_k = float(np.median(sample)), float(np.median(ref.sample))
        est_k = median + temperature.KELVIN_OFFSET if units == "celsius" else median
        if abs(abs(est_k - ref_k) - temperature.KELVIN_OFFSET) < 20.0:      # the same scene, 273 K apart
            unit = "°C" if units == "celsius" else "K"
            raise self.error(
                f"{self.label(ref_name)} (median {ref_k:.1f} K) and {self.label(name)} (median {median:.1f}, read "
                f"as {unit}) differ by {abs(est_k - ref_k):.0f} K, the kelvin–°C offset: one is in kelvin, the other "
                f"in °C. {self.label('INPUT_UNITS')} applies to both: give them in the same units (Raster "
                "calculator: K = °C + 273.15).")

    def report_qc(self, src, feedback, options):
        """Log what the MODIS QC says of the input's pixels: how many the QC filter dropped and why (issue #27);
        ``options`` the run's (its executor and cancel; its progress None: the pass is not the job's)."""
        n = src.qc_counts(options=options)
        other, cloud, reasons, empty = (n[k] for k in pipeline.modis.QC_COUNT_NAMES[2:])
        if src.qc_filter:
            feedback.pushInfo(self.tr(
                "QC filter: {0} of {1} pixels kept; {2} dropped as 'LST produced, other quality' (QC 01, errors up "
                "to 2–3 K). Without an LST value: {3} cloud (QC 10), {4} not produced for other reasons (QC 11), {5} "
                "fill or out of range.").format(n["kept"], n["pixels"], other, cloud, reasons, empty))
        else:
            feedback.pushInfo(self.tr(
                "QC filter off: {0} of {1} pixels kept, {2} of them 'other quality' (QC 01, errors up to 2–3 K). "
                "Without an LST value: {3} cloud (QC 10), {4} not produced for other reasons (QC 11), {5} fill or "
                "out of range.").format(n["kept"], n["pixels"], other, cloud, reasons, empty))

    @staticmethod
    def thermal_ramp(kelvin_sample, units):
        """The output's colour ramp: 2–98 % of the input's values, in the output units, with a legend."""
        lo, hi = (float(v) for v in np.percentile(kelvin_sample, [2, 98]))
        if hi - lo < 1.0:
            lo, hi = lo - 0.5, hi + 0.5
        if units == "celsius":
            lo, hi = lo - temperature.KELVIN_OFFSET, hi - temperature.KELVIN_OFFSET
        return (round(lo, 1), round(hi, 1), THERMAL_COLOURS, "K" if units == "kelvin" else "°C")

    def style_thermal(self, context, path, source, name=None, force_name=False):
        """Style ``path`` with the thermal ramp of the LST it was made from (:class:`pipeline.LstSource`), named
        ``name`` in the project (``processing/names.py``; whatever the file is called with ``force_name``)."""
        style_on_load(context, path, ramp=self.thermal_ramp(source.sample, source.units), name=name,
                      force_name=force_name)
