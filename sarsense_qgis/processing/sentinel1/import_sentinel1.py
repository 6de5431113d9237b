"""sarsense:importsentinel1 — a Sentinel-1 GRD (SAFE folder or zip) to calibrated, noise-removed, geocoded σ0."""

from __future__ import annotations

import os

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterCrs,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ....algorithms.sentinel1 import importer
from ....algorithms.sentinel1 import product as s1p
from ...styles import style_on_load
from .. import inputs, names
from ..base import SarsenseAlgorithm

POLARISATIONS = ("VV", "VH", "HH", "HV")
CALIBRATIONS = ("sigma0", "gamma0", "beta0")
OUTPUT_UNITS = ("Linear power", "dB")

HELP = (
    "Turns a Sentinel-1 Level-1 GRD product (IW or EW; the .zip as downloaded, read in place, or the "
    ".SAFE folder or its manifest.safe) into one GeoTIFF ready for the other tools: one band per "
    "polarisation and the incidence angle, on a map grid, without ESA SNAP.\n\n"
    "Calibration follows ESA's definition: (|DN|² − noise)/A², with A the sigma0, gamma0 or beta0 look-up "
    "table of the product, interpolated bilinearly over line and pixel. Thermal noise is the product's "
    "range noise times, from IPF 2.9 on, its azimuth noise; where it leaves nothing (signal below the noise "
    "floor) the pixel is NaN, counted in the log. DN 0 is the product's no-data. Border noise: products of "
    "IPF 2.90 and later have their border noise set to DN 0 by ESA; for older ones, samples within 500 "
    "pixels of the no-data edge in range whose value is below −30 dB are masked.\n\n"
    "Without a DEM, each pixel of the target CRS (default: the UTM zone of the scene centre; pixel size "
    "default 10 m IW, 40 m EW) is placed by range-Doppler (the annotation's orbit and slant/ground range "
    "polynomials) at the height the product's geolocation grid gives there, interpolated between its points: "
    "the same physics as with a DEM, between the grid's points as on them. The grid knows the terrain only at "
    "its points: where the real terrain departs from the grid's interpolated height by h, the position is off "
    "by about h/tan θ (hundreds of metres in mountains; see docs/sentinel1.md). The incidence angle is then the "
    "ellipsoid one, interpolated from the grid.\n\n"
    "With a DEM (heights above mean sea level, as SRTM or Copernicus DEM; any CRS), each map pixel is placed "
    "by range-Doppler terrain correction: its DEM height (made ellipsoidal with the EGM96 geoid), its "
    "zero-Doppler time on the orbit of the annotation's state vectors and its slant range, turned into a "
    "ground-range pixel by the annotation's slant/ground range polynomials. The incidence band is then the "
    "local incidence angle between the DEM's surface normal and the line of sight. The DEM must cover the "
    "scene (or the extent); no layover or shadow mask is made, and the backscatter is not flattened for "
    "terrain (sigma0 stays ellipsoid-referenced).\n\n"
    "Resampling: bilinear in linear power; when the pixel size is at least twice the product's (e.g. 20 m or "
    "more for IW), k × k samples are averaged first (k = pixel size / 10 m), which multilooks instead of "
    "dropping samples.\n\n"
    "Output bands: '<pol> <quantity>' per polarisation, then 'incidence angle'; each band's metadata holds "
    "the polarisation, quantity, units and the acquisition start time (UTC), which is also the file's DATE. "
    "SLC, OCN and RAW products are refused with the reason.")


class ImportSentinel1Algorithm(SarsenseAlgorithm):
    INPUT, POLARISATIONS, CALIBRATION, THERMAL_NOISE, BORDER_NOISE, OUTPUT_UNITS = (
        "INPUT", "POLARISATIONS", "CALIBRATION", "THERMAL_NOISE", "BORDER_NOISE", "OUTPUT_UNITS")
    DEM, TARGET_CRS, PIXEL_SIZE, EXTENT, OUTPUT = "DEM", "TARGET_CRS", "PIXEL_SIZE", "EXTENT", "OUTPUT"

    def name(self):
        return "importsentinel1"

    def displayName(self):
        return self.tr("Import Sentinel-1 GRD (calibrate, remove noise, geocode)")

    def tags(self):
        return self.tr("sentinel-1,grd,safe,zip,import,calibration,sigma0,gamma0,beta0,thermal noise,border noise,"
                       "geocode,terrain correction,range doppler,dem,local incidence,incidence,snap").split(",")

    def help_text(self):
        return self.tr(HELP)

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterFile(self.INPUT,
                                            self.tr("Sentinel-1 GRD product (.zip, .SAFE or manifest.safe)"),
                                            behavior=QgsProcessingParameterFile.File,
                                            fileFilter="Sentinel-1 (*.zip manifest.safe);;All (*)"),
                 "The product's .zip as downloaded (read in place), its .SAFE folder (type or paste the path) or the "
                 "manifest.safe inside it.")
        self.add(QgsProcessingParameterEnum(self.POLARISATIONS, self.tr("Polarisations (empty: all in the product)"),
                                            options=list(POLARISATIONS), allowMultiple=True, optional=True),
                 "0 VV, 1 VH, 2 HH, 3 HV; one band each, in this order. A polarisation the product lacks is refused.")
        self.add_import_parameters()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Calibrated, geocoded backscatter")),
                 "Float32 GeoTIFF, NaN nodata: one band per polarisation, then the incidence angle (°).")

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

    def process(self, parameters, context, feedback):
        product = self.product(self.parameterAsFile(parameters, self.INPUT, context))
        wanted = importer.select_polarisations(
            product, [POLARISATIONS[i] for i in self.parameterAsEnums(parameters, self.POLARISATIONS, context)]
            if parameters.get(self.POLARISATIONS) not in (None, "", []) else None, label=self.label(self.POLARISATIONS))
        opts = self.import_options(parameters, context, product, wanted[0])
        quantity, in_db = opts["calibration"], opts["db"]
        feedback.pushInfo(self.tr("{0}: {1} {2} GRD, IPF {3}, {4}, {5} UTC; {6} → {7}{8}").format(
            product.name, product.mission, product.mode, product.ipf, product.orbit_pass.lower(), product.start,
            ", ".join(wanted), quantity, " dB" if in_db else ""))
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        counts = importer.import_grd(product, wanted, out, **opts,
                                     options=self.run_options(parameters, context, feedback))
        self._report(feedback, product, counts, opts["border_noise"])
        grid_out, looks, dem = counts["grid"], counts["looks"], opts["dem"]
        how = f"terrain-corrected with {os.path.basename(dem)}" if dem else "geocoded from the geolocation grid"
        averaged = f", {looks}×{looks} samples averaged per cell" if looks > 1 else ""
        feedback.pushInfo(self.tr("{0} at {1:g} ({2} × {3} px{4}), {5}: {6}").format(
            QgsCoordinateReferenceSystem.fromWkt(opts["crs"]).authid(), grid_out.geotransform[1], grid_out.xsize,
            grid_out.ysize, averaged, how, os.path.basename(out)))
        enl = importer.enl_metadata(product, looks)
        if enl:
            feedback.pushInfo(self.tr("ENL {0} ({1}) written in the file's metadata: Despeckle takes it when its ENL "
                                      "is left at 0.").format(enl["ENL"], enl["ENL_SOURCE"]))
        if in_db:
            style_on_load(context, out, name=names.layer_name(self.tr("Sentinel-1"), "+".join(wanted), quantity,
                                                              names.input_details(out)[1]), unit="dB")
        return {self.OUTPUT: out}

    def product(self, path):
        """The product at ``path``, or the reason it cannot be read (not Sentinel-1, not a GRD, unreadable)."""
        try:
            return s1p.open_product(path)
        except s1p.ProductError as err:
            raise self.error(str(err)) from None

    def _report(self, feedback, product, counts, border_noise):
        """What the import counted, in the log: pixels below the noise floor, border noise, DEM nodata."""
        for pol in counts["below_noise"]:
            if counts["below_noise"][pol]:
                feedback.pushWarning(self.tr("{0}: {1} output pixel(s) at or below the noise floor after thermal "
                                             "noise removal are NaN.").format(pol, counts["below_noise"][pol]))
            if counts["border"][pol]:
                feedback.pushInfo(self.tr("{0}: {1} output pixel(s) of border noise masked.").format(
                    pol, counts["border"][pol]))
        if not counts["border_rule"]:
            feedback.pushInfo(self.tr("IPF {0}: border noise is DN 0 in the product already.").format(product.ipf)
                              if border_noise else self.tr("border noise not masked (off)."))
        else:
            table = counts["border_table"]
            feedback.pushInfo(self.tr("IPF {0}: border noise rule on; the DN 0 of {1} image line(s) tabled once in "
                                      "{2:.1f} s ({3} stretch(es) of samples near them), each image window read "
                                      "without a halo.").format(product.ipf, table["lines"], table["seconds"],
                                                                 table["intervals"]))
        if counts["dem_nodata"]:
            feedback.pushWarning(self.tr("{0} output pixel(s) in the scene have no DEM height (DEM nodata) and are "
                                         "NaN.").format(counts["dem_nodata"]))
