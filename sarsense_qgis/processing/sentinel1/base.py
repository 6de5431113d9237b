"""What the Sentinel-1 imports share: calibration, noise, units, DEM, map grid and compression parameters, reading
a product, and what an import counted, in the log."""

from __future__ import annotations

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterCrs,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.sentinel1 import importer
from ....algorithms.sentinel1 import product as s1p
from .. import inputs
from ..base import SarsenseAlgorithm

POLARISATIONS = ("VV", "VH", "HH", "HV")
CALIBRATIONS = ("sigma0", "gamma0", "beta0")
OUTPUT_UNITS = ("Linear power", "dB")


class Sentinel1Algorithm(SarsenseAlgorithm):
    """The Sentinel-1 group's base: the parameters every import asks and what it says of a product."""

    CALIBRATION, THERMAL_NOISE, BORDER_NOISE, OUTPUT_UNITS = (
        "CALIBRATION", "THERMAL_NOISE", "BORDER_NOISE", "OUTPUT_UNITS")
    DEM, TARGET_CRS, PIXEL_SIZE, EXTENT = "DEM", "TARGET_CRS", "PIXEL_SIZE", "EXTENT"

    def add_import_parameters(self):
        """Calibration, noise, units, DEM, map grid and compression: what every Sentinel-1 import asks."""
        self.add(QgsProcessingParameterEnum(self.CALIBRATION, self.tr("Calibration"), options=list(CALIBRATIONS),
                                            defaultValue=0),
                 "0 sigma0 (σ⁰, ground range; what the other SARSense tools expect), 1 gamma0 (γ⁰), 2 beta0 (β⁰).")
        self.add(QgsProcessingParameterBoolean(self.THERMAL_NOISE, self.tr("Remove thermal noise"), defaultValue=True),
                 "Subtract the product's noise LUTs (range × azimuth) before calibration.")
        self.add(QgsProcessingParameterBoolean(self.BORDER_NOISE, self.tr("Mask border noise"), defaultValue=True),
                 "Products before IPF 2.90: mask the low-value strips along the no-data edge (later ones are DN 0 "
                 "there already).")
        self.add(QgsProcessingParameterEnum(self.OUTPUT_UNITS, self.tr("Output units"), options=list(OUTPUT_UNITS),
                                            defaultValue=1),
                 "0 linear power, 1 dB (10·log10), for the backscatter bands; the incidence is in degrees.")
        self.add(QgsProcessingParameterRasterLayer(self.DEM, self.tr("DEM for terrain correction"),
                                                   optional=True),
                 "Heights in metres above mean sea level (EGM96/EGM2008 geoid: SRTM, Copernicus DEM, ASTER), any CRS, "
                 "covering the scene or the extent. Given: range-Doppler terrain correction and the local incidence "
                 "angle. Empty: geocoding from the product's geolocation grid and the ellipsoid incidence angle.")
        self.add(QgsProcessingParameterCrs(self.TARGET_CRS, self.tr("Target CRS (empty: UTM zone of the scene)"),
                                           optional=True),
                 "The map grid's CRS; empty: the WGS 84 UTM zone of the scene centre.")
        self.add(QgsProcessingParameterNumber(self.PIXEL_SIZE, self.tr("Pixel size (0: 10 m IW, 40 m EW)"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=0.0,
                                              minValue=0.0),
                 "Output pixel size in the target CRS's units (metres for UTM); 0 takes the product's mode default.",
                 decimals=2)
        self.add(QgsProcessingParameterExtent(self.EXTENT, self.tr("Extent (empty: the whole scene)"), optional=True),
                 "Only this part of the scene is written (in any CRS; converted to the target CRS).")
        self.add_compression()


    def import_options(self, parameters, context, product, pol):
        """The keyword arguments of the import (calibration, noise, units, CRS, pixel size, extent, DEM) from the
        parameters; ``product``'s scene (``pol``'s annotation) gives the default CRS, its mode the pixel size."""
        crs = self.parameterAsCrs(parameters, self.TARGET_CRS, context)
        if not crs.isValid():
            crs = QgsCoordinateReferenceSystem(importer.scene_crs(product, pol))
        if crs.isGeographic():
            raise self.error(f"{self.label(self.TARGET_CRS)} {crs.authid()} is geographic: give a projected CRS "
                             "(metres), e.g. the scene's UTM zone (leave it empty).")
        extent = None
        if parameters.get(self.EXTENT):
            rect = self.parameterAsExtent(parameters, self.EXTENT, context, crs)
            extent = (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum())
        return dict(calibration=CALIBRATIONS[self.parameterAsEnum(parameters, self.CALIBRATION, context)],
                    thermal_noise=self.parameterAsBoolean(parameters, self.THERMAL_NOISE, context),
                    border_noise=self.parameterAsBoolean(parameters, self.BORDER_NOISE, context),
                    db=self.parameterAsEnum(parameters, self.OUTPUT_UNITS, context) == 1,
                    crs=crs.toWkt(), pixel_size=self.parameterAsDouble(parameters, self.PIXEL_SIZE, context) or None,
                    extent=extent,
                    dem=inputs.raster_path(self, parameters, self.DEM, context) if parameters.get(self.DEM) else None)


    def product(self, path):
        """The product at ``path``, or the reason it cannot be read (not Sentinel-1, not a GRD, unreadable)."""
        try:
            return s1p.open_product(path)
        except s1p.ProductError as err:
            raise self.error(str(err)) from None


    def _report(self, feedback, product, counts, border_noise, who="", said=None):
        """What the import counted, in the log: pixels below the noise floor, border noise, DEM nodata. For one
        product of several, ``who`` (its name) begins the lines of its counts, and the border-noise line is said only
        if not in ``said`` (the lines already said for the others), to which it is added."""
        at = f"{who}: " if who else ""
        for pol in counts["below_noise"]:
            if counts["below_noise"][pol]:
                feedback.pushWarning(at + self.tr("{0}: {1} output pixel(s) at or below the noise floor after thermal "
                                                  "noise removal are NaN.").format(pol, counts["below_noise"][pol]))
            if counts["border"][pol]:
                feedback.pushInfo(at + self.tr("{0}: {1} output pixel(s) of border noise masked.").format(
                    pol, counts["border"][pol]))
        if not counts["border_rule"]:
            line = (self.tr("IPF {0}: border noise is DN 0 in the product already.").format(product.ipf)
                    if border_noise else self.tr("border noise not masked (off)."))
        else:
            table = counts["border_table"]
            line = self.tr("IPF {0}: border noise rule on; the DN 0 of {1} image line(s) tabled once in {2:.1f} s "
                           "({3} stretch(es) of samples near them), each image window read without a halo.").format(
                product.ipf, table["lines"], table["seconds"], table["intervals"])
        if said is None or line not in said:
            feedback.pushInfo(line)
            if said is not None:
                said.add(line)
        if counts["dem_nodata"]:
            feedback.pushWarning(at + self.tr("{0} output pixel(s) in the scene have no DEM height (DEM nodata) and "
                                              "are NaN.").format(counts["dem_nodata"]))
