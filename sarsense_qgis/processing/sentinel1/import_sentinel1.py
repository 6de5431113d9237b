"""sarsense:importsentinel1 — a Sentinel-1 GRD (SAFE folder or zip) to calibrated, noise-removed, geocoded σ0."""

from __future__ import annotations

import os

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterRasterDestination,
)

from ....algorithms.sentinel1 import importer
from ...styles import style_on_load
from .. import names
from .base import POLARISATIONS, Sentinel1Algorithm

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


class ImportSentinel1Algorithm(Sentinel1Algorithm):
    INPUT, POLARISATIONS, OUTPUT = "INPUT", "POLARISATIONS", "OUTPUT"

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

