"""sarsense:ndvi — NDVI from red and near-infrared reflectance, with the paper's validity range."""

from __future__ import annotations

from qgis.core import (
    QgsProcessingParameterBoolean,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.io import read_info
from ....algorithms.io import stack as _stack
from ....algorithms.soil_moisture import ndvi as _ndvi
from ...styles import NDVI_RAMP, style_on_load
from .. import checks, inputs, outputs
from .base import SoilMoistureAlgorithm


class NdviAlgorithm(SoilMoistureAlgorithm):
    RED, RED_BAND, NIR, NIR_BAND = "RED", "RED_BAND", "NIR", "NIR_BAND"
    SCALE, OFFSET, MASK_OUTSIDE, OUTPUT = "SCALE", "OFFSET", "MASK_OUTSIDE", "OUTPUT"

    def name(self):
        return "ndvi"

    def displayName(self):
        return self.tr("NDVI (vegetation index)")

    def tags(self):
        return self.tr("ndvi,vegetation index,normalised difference vegetation index,normalized difference "
                       "vegetation index,greenness,vegetation,red,nir,landsat,sentinel-2,soil moisture").split(",")

    def help_text(self):
        lo, hi = _ndvi.VALID_RANGE
        return self.tr(
            "NDVI = (NIR − red)/(NIR + red) (Fayad et al. 2022, eq. 1), from surface reflectance.\n\n"
            "Bands: one multiband raster (Red raster with Red band and NIR band numbers), or two rasters. Band "
            "number 0 takes every band: two dated stacks (one band per date, e.g. from 'Build dated stack') give "
            "one NDVI band per date, the dates matched between them. A dated input keeps its dates.\n\n"
            "Reflectance = DN × Reflectance scale + Reflectance offset (Sentinel-2 L2A: 0.0001 and −0.1 from "
            "processing baseline 04.00; Landsat Collection 2 Level 2: 0.0000275 and −0.2). A scale alone does not "
            "change NDVI, an offset does. NDVI is written as computed: above {1} is valid NDVI of dense crops. 'Keep "
            "only {0}–{1}' (off by default since #29) applies the paper's pixel selection (§2.1.4: water and "
            "built-up land below {0}, dense forest above {1}) and makes the rest NaN; the log counts NDVI outside "
            "{0}–{1} either way. Pixels where either reflectance is not positive are NaN. A band that "
            "is no reflectance after the scale and offset (digital numbers without their scale, negative or zero "
            "values only) is refused before anything is written.").format(lo, hi)

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterRasterLayer(self.RED, self.tr("Red raster")),
                 "Raster holding the red band (or both bands, or a dated stack of red bands).")
        self.add(QgsProcessingParameterNumber(self.RED_BAND, self.tr("Red band number (0 = every band)"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=1, minValue=0),
                 "Band of the red raster; 0 for a dated stack (one band per date).")
        self.add(QgsProcessingParameterRasterLayer(self.NIR, self.tr("Near-infrared raster"),
                                                   optional=True),
                 "Raster holding the NIR band; leave empty when the red raster holds both bands.")
        self.add(QgsProcessingParameterNumber(self.NIR_BAND, self.tr("NIR band number (0 = every band)"),
                                              type=QgsProcessingParameterNumber.Integer, defaultValue=2, minValue=0),
                 "Band of the NIR raster (or of the red raster when no NIR raster is given); 0 for a dated stack.")
        self.add(QgsProcessingParameterNumber(self.SCALE, self.tr("Reflectance scale factor"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=1.0,
                                              minValue=1e-9),
                 "Multiplies the digital numbers to give reflectance (1 for reflectance already).", decimals=7)
        self.add(QgsProcessingParameterNumber(self.OFFSET, self.tr("Reflectance offset"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=0.0),
                 "Added after scaling (Sentinel-2 L2A baseline ≥ 04.00: −0.1; Landsat C2 L2: −0.2).", advanced=True,
                 decimals=4)
        lo, hi = _ndvi.VALID_RANGE
        self.add(QgsProcessingParameterBoolean(self.MASK_OUTSIDE,
                                               self.tr("Keep only NDVI {0}–{1} (others NaN)").format(lo, hi),
                                               defaultValue=_ndvi.MASK_OUTSIDE_DEFAULT),
                 "The change-detection paper's pixel selection (§2.1.4): NDVI below 0.15 (water, urban) or above 0.8 "
                 "(dense forest) is set to NaN. Off by default (on before #29): NDVI above 0.8 is valid NDVI of "
                 "dense crops, which the filter would drop.")
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("NDVI")),
                 "Float32 GeoTIFF, NaN nodata; one band per date for stacks.")

    def _bands(self, path, band, name):
        n = read_info(path).band_count
        if band > n:
            raise self.error(f"{self.label(name)} is {band} but the raster has {n} band(s).")
        return list(range(1, n + 1)) if band == 0 else [band]

    def _empty_hint(self, mask):
        """The likely cause and fix of an NDVI with no valid pixel (the engine's empty-result rule)."""
        lo, hi = _ndvi.VALID_RANGE
        kept = self.tr(" and an NDVI in {0}–{1}").format(lo, hi) if mask else ""
        switch = self.tr(", or switch off {0}").format(self.label(self.MASK_OUTSIDE)) if mask else ""
        return self.tr("no pixel has positive red and near-infrared reflectance{0}. Check that {1} and {2} are the "
                       "red and NIR bands, and their scale and offset{3}.").format(
            kept, self.label(self.RED_BAND), self.label(self.NIR_BAND), switch)

    def process(self, parameters, context, feedback):
        red = inputs.raster_path(self, parameters, self.RED, context)
        nir = inputs.raster_path(self, parameters, self.NIR, context) if parameters.get(self.NIR) else red
        rb = self.parameterAsInt(parameters, self.RED_BAND, context)
        nb = self.parameterAsInt(parameters, self.NIR_BAND, context)
        scale = self.parameterAsDouble(parameters, self.SCALE, context)
        offset = self.parameterAsDouble(parameters, self.OFFSET, context)
        mask = self.parameterAsBool(parameters, self.MASK_OUTSIDE, context)
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        red_bands, nir_bands = self._bands(red, rb, self.RED_BAND), self._bands(nir, nb, self.NIR_BAND)
        if nir == red and red_bands == nir_bands:
            raise self.error(f"{self.label(self.RED_BAND)} and {self.label(self.NIR_BAND)} are the same band of the "
                             "same raster; give the near-infrared band's number, or a separate NIR raster.")
        if len(red_bands) != len(nir_bands):
            raise self.error(f"the red input has {len(red_bands)} band(s) and the NIR input {len(nir_bands)}: give "
                             "one band of each, or two dated stacks with the same dates (band numbers 0).")
        dates = None
        if len(red_bands) > 1 or (rb == 0 and nb == 0):
            dates = checks.stack_dates(self, red, self.RED, min_dates=1)
            nir_dates = checks.stack_dates(self, nir, self.NIR if nir != red else self.RED, min_dates=1)
            order = _stack.match_dates(dates, nir_dates, self.label(self.RED), self.label(self.NIR))
            nir_bands = [nir_bands[nir_dates.index(d)] for d in order]
        else:
            try:
                dates = [_stack.band_dates(red)[red_bands[0] - 1]] if read_info(red).band_count == 1 else None
            except ValueError:
                dates = None
        for path, bands, name in ((red, red_bands, self.RED), (nir, nir_bands, self.NIR if nir != red else self.RED)):
            checks.require_valid(self, path, name)
            problem = _ndvi.reflectance_problem(path, bands, scale=scale, offset=offset)
            if problem:
                raise self.error(self.tr("{0}, {1}. Set {2} and {3} to your product's (Sentinel-2 L2A: 0.0001 and "
                                         "−0.1; Landsat Collection 2 L2: 0.0000275 and −0.2), or the band's own scale "
                                         "and offset, so that the values are reflectance (0..1).").format(
                    self.label(name), problem, self.label(self.SCALE), self.label(self.OFFSET)))
        nir_on = nir if nir == red else inputs.on_grid(self, nir, red, self.NIR, feedback)
        counts = _ndvi.ndvi_file(red, nir_on, out, red_bands=red_bands, nir_bands=nir_bands, dates=dates, scale=scale,
                                 offset=offset, mask_outside=mask,
                                 options=self.run_options(parameters, context, feedback,
                                                          empty_hint=self._empty_hint(mask)))
        outputs.report_infinite(self, feedback, counts)
        lo, hi = _ndvi.VALID_RANGE
        share = {k: 100.0 * counts[k] / counts["valid"] if counts["valid"] else 0.0
                 for k in ("below_valid", "above_valid")}
        feedback.pushInfo(self.tr("NDVI below {0}: {1:.1f} % of the valid pixel-dates (water, built-up, bare soil); "
                                  "above {2}: {3:.1f} % (dense crops or forest); {4}.").format(
            lo, share["below_valid"], hi, share["above_valid"], self.tr("set to NaN by {0}").format(
                self.label(self.MASK_OUTSIDE)) if mask else self.tr("kept ({0} is off, the default since #29)").format(
                self.label(self.MASK_OUTSIDE))))
        if counts["valid"] and counts["negative"] > 0.5 * counts["valid"]:
            feedback.pushWarning(self.tr("{0:.0f} % of the NDVI values are negative: that is water, or {1} and {2} "
                                         "are swapped (vegetation reflects more near-infrared than red).").format(
                100.0 * counts["negative"] / counts["valid"], self.label(self.RED_BAND), self.label(self.NIR_BAND)))
        style_on_load(context, out, ramp=NDVI_RAMP)
        return {self.OUTPUT: out}
