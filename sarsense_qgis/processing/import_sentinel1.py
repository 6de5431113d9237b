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
)

from ...algorithms.io import blocks as _blocks
from ...algorithms.sentinel1 import geometry, importer
from ...algorithms.sentinel1 import product as s1p
from ..styles import style_on_load
from .base import WORKERS, SarsenseAlgorithm

POLARISATIONS = ("VV", "VH", "HH", "HV")
CALIBRATIONS = ("sigma0", "gamma0", "beta0")
OUTPUT_UNITS = ("Linear power", "dB")


class ImportSentinel1Algorithm(SarsenseAlgorithm):
    INPUT, POLARISATIONS, CALIBRATION, THERMAL_NOISE, BORDER_NOISE, OUTPUT_UNITS = (
        "INPUT", "POLARISATIONS", "CALIBRATION", "THERMAL_NOISE", "BORDER_NOISE", "OUTPUT_UNITS")
    TARGET_CRS, PIXEL_SIZE, EXTENT, OUTPUT = "TARGET_CRS", "PIXEL_SIZE", "EXTENT", "OUTPUT"

    def name(self):
        return "importsentinel1"

    def displayName(self):  # noqa: N802
        return self.tr("Import Sentinel-1 GRD (calibrate, remove noise, geocode)")

    def tags(self):
        return self.tr("sentinel-1,grd,safe,zip,import,calibration,sigma0,gamma0,beta0,thermal noise,border noise,"
                       "geocode,incidence,snap").split(",")

    def shortHelpString(self):  # noqa: N802
        return self.tr(
            "Turns a Sentinel-1 Level-1 GRD product (IW or EW; the .zip as downloaded, read in place, or the "
            ".SAFE folder or its manifest.safe) into one GeoTIFF ready for the other tools: one band per "
            "polarisation and the incidence angle, on a map grid, without ESA SNAP.\n\n"
            "Calibration follows ESA's definition: (|DN|² − noise)/A², with A the sigma0, gamma0 or beta0 look-up "
            "table of the product, interpolated bilinearly over line and pixel. Thermal noise is the product's "
            "range noise times, from IPF 2.9 on, its azimuth noise; where it leaves nothing (signal below the noise "
            "floor) the pixel is NaN, counted in the log. DN 0 is the product's no-data. Border noise: products of "
            "IPF 2.90 and later have their border noise set to DN 0 by ESA; for older ones, samples within 500 "
            "pixels of the no-data edge in range whose value is below −30 dB are masked.\n\n"
            "Geocoding uses the product's geolocation grid (its points as ground control points, a thin-plate "
            "spline, bilinear resampling of linear power) onto the target CRS (default: the UTM zone of the scene "
            "centre) at the pixel size (default 10 m IW, 40 m EW). The grid knows the terrain only at its points: in "
            "relief the position is off by up to about h/tan θ (hundreds of metres in mountains; see the README). "
            "The incidence angle is the ellipsoid one, interpolated from the grid.\n\n"
            "Output bands: '<pol> <quantity>' per polarisation, then 'incidence angle'; each band's metadata holds "
            "the polarisation, quantity, units and the acquisition start time (UTC), which is also the file's DATE. "
            "SLC, OCN and RAW products are refused with the reason.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add(QgsProcessingParameterFile(self.INPUT, self.tr("Sentinel-1 GRD product (.zip, .SAFE or manifest.safe)"),
                                            behavior=QgsProcessingParameterFile.File,
                                            fileFilter="Sentinel-1 (*.zip manifest.safe);;All (*)"),
                 "The product's .zip as downloaded (read in place), its .SAFE folder (type or paste the path) or the "
                 "manifest.safe inside it.")
        self.add(QgsProcessingParameterEnum(self.POLARISATIONS, self.tr("Polarisations (empty: all in the product)"),
                                            options=list(POLARISATIONS), allowMultiple=True, optional=True),
                 "0 VV, 1 VH, 2 HH, 3 HV; one band each, in this order. A polarisation the product lacks is refused.")
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
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("Calibrated, geocoded backscatter")),
                 "Float32 GeoTIFF, NaN nodata: one band per polarisation, then the incidence angle (°).")

    def process(self, parameters, context, feedback):
        path = self.parameterAsFile(parameters, self.INPUT, context)
        try:
            product = s1p.open_product(path)
        except s1p.ProductError as err:
            raise self.error(str(err)) from None
        wanted = [POLARISATIONS[i] for i in self.parameterAsEnums(parameters, self.POLARISATIONS, context)] \
            if parameters.get(self.POLARISATIONS) not in (None, "", []) else list(product.polarisations)
        missing = [p for p in wanted if p not in product.polarisations]
        if missing:
            raise self.error(f"{self.label(self.POLARISATIONS)}: {', '.join(missing)} not in {product.name}, which has "
                             f"{', '.join(product.polarisations)}.")
        quantity = CALIBRATIONS[self.parameterAsEnum(parameters, self.CALIBRATION, context)]
        in_db = self.parameterAsEnum(parameters, self.OUTPUT_UNITS, context) == 1
        feedback.pushInfo(self.tr(f"{product.name}: {product.mission} {product.mode} GRD, IPF {product.ipf}, "
                                  f"{product.orbit_pass.lower()}, {product.start} UTC; {', '.join(wanted)} → "
                                  f"{quantity}{' dB' if in_db else ''}"))
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        grid = geometry.geolocation_grid(product.read(wanted[0], "annotation"))
        crs = self.parameterAsCrs(parameters, self.TARGET_CRS, context)
        if not crs.isValid():
            crs = QgsCoordinateReferenceSystem(f"EPSG:{importer.utm_epsg(*importer.scene_centre(grid))}")
        if crs.isGeographic():
            raise self.error(f"{self.label(self.TARGET_CRS)} {crs.authid()} is geographic: give a projected CRS "
                             "(metres), e.g. the scene's UTM zone (leave it empty).")
        size = self.parameterAsDouble(parameters, self.PIXEL_SIZE, context) or importer.PIXEL_SIZE.get(product.mode, 10.0)
        extent = None
        if parameters.get(self.EXTENT):
            rect = self.parameterAsExtent(parameters, self.EXTENT, context, crs)
            extent = (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum())
        image = importer.image_path(out)
        try:
            counts = importer.to_image_geometry(
                product, wanted, image, calibration=quantity,
                thermal_noise=self.parameterAsBoolean(parameters, self.THERMAL_NOISE, context),
                border_noise=self.parameterAsBoolean(parameters, self.BORDER_NOISE, context), compression="ZSTD",
                workers=WORKERS, **self.callbacks(feedback, 0.0, 0.5))
            start = product.start.split(".")[0]
            units = "dB" if in_db else "linear"
            names = [f"{p} {quantity}" for p in wanted] + ["incidence angle"]
            meta = [{"POLARISATION": p, "QUANTITY": quantity, "units": units, "ACQUISITION_START_TIME": start}
                    for p in wanted] + [{"QUANTITY": "incidence angle (ellipsoid)", "units": "degrees",
                                         "ACQUISITION_START_TIME": start}]
            importer.geocode(image, out, crs=crs.toWkt(), pixel_size=size, extent=extent,
                             db_bands=range(len(wanted)) if in_db else (), descriptions=names, band_metadata=meta,
                             metadata={"DATE": start, "MISSION": product.mission, "MODE": product.mode,
                                       "PRODUCT": product.name, "IPF": product.ipf, "CALIBRATION": quantity},
                             compression=self.compression(parameters, context), workers=WORKERS,
                             **self.callbacks(feedback, 0.5, 1.0))
        finally:
            _blocks.remove_dataset_files(image)
        for pol in wanted:
            if counts["below_noise"][pol]:
                feedback.pushWarning(self.tr(f"{pol}: {counts['below_noise'][pol]} pixel(s) at or below the noise "
                                             "floor after thermal noise removal are NaN."))
            if counts["border"][pol]:
                feedback.pushInfo(self.tr(f"{pol}: {counts['border'][pol]} border-noise pixel(s) masked."))
        if not counts["border_rule"]:
            feedback.pushInfo(self.tr(f"IPF {product.ipf}: border noise is DN 0 in the product already."
                                      if self.parameterAsBoolean(parameters, self.BORDER_NOISE, context)
                                      else "border noise not masked (off)."))
        feedback.pushInfo(self.tr(f"{crs.authid()} at {size:g}: {os.path.basename(out)}"))
        if in_db:
            style_on_load(context, out)
        return {self.OUTPUT: out}
