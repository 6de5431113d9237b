"""sarsense:icechartclasses — SIGRID-3 ice-chart polygons → SIC classes 0–10 on a raster grid."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

from ....algorithms.sea_ice import classes as sic_classes
from ....algorithms.sea_ice import sigrid
from .. import checks, inputs, outputs
from .base import SeaIceAlgorithm


def _value(v):
    """A feature attribute as Python: None for NULL."""
    return None if v is None or (isinstance(v, QVariant) and v.isNull()) else v


def _polygons(source, reference, context, field, names):
    """The chart's polygons in the CRS of ``reference``: ``(wkbs, records)``, a record ``(fid, ct, poly_type,
    forms)`` per polygon as :func:`sigrid.polygon_classes` reads them."""
    forms = [f for f in sigrid.FORM_FIELDS if f in names]
    wkbs, records = [], []
    for feature, wkb in inputs.on_grid_crs(source, reference, context):
        wkbs.append(wkb)
        records.append((feature.id(), _value(feature[field]),
                        _value(feature["POLY_TYPE"]) if "POLY_TYPE" in names else None,
                        [_value(feature[f]) for f in forms]))
    return wkbs, records


CODING_LABELS = ("Auto: SIGRID-3 codes in a field named CT, percent in any other field",
                 "SIGRID-3 CT codes (00, 01, 02, 10–92, ranges such as 35)", "Concentration in percent (0–100)")


class IceChartClassesAlgorithm(SeaIceAlgorithm):
    CHART, CT_FIELD, CODING, REFERENCE, OUTPUT = "CHART", "CT_FIELD", "CODING", "REFERENCE", "OUTPUT"
    #: the reference gives only the grid (its values are not read)
    empty_inputs_allowed = ("REFERENCE",)

    def name(self):
        return "icechartclasses"

    def displayName(self):
        return self.tr("Ice chart to SIC classes")

    def tags(self):
        return self.tr("sea ice,ice chart,sigrid,sigrid-3,ct,total concentration,egg code,rasterize,sic").split(",")

    def help_text(self):
        rows = ", ".join(f"{k:02d}→{v}" for k, v in sigrid.CT_CLASSES.items() if v != sic_classes.NODATA and k < 10 or
                         k in (91, 92))
        return self.tr(
            "Turns an ice chart's polygons into the SIC classes the sea-ice U-Net predicts (0–10 = 0–100 % in 10 % "
            "steps, 255 = land or unknown), on the grid of the Reference grid (REFERENCE): a reference chart for "
            "'Sea-ice skill' or "
            "for training.\n\n"
            "SIGRID-3 total concentration (CT) as in Stokholm et al. (2022, §II.B): ice free, < 1/10 and bergy "
            "water → 0; 1/10…9/10 → 1…9; 9+/10 and 10/10 → 10 ({0}); range codes XY (e.g. 35, 46, 79) → their "
            "midpoint class, halves rounded up (35→4, 46→5, 79→8, 12→2); 98 (glacier) and 99 (unknown) → 255. "
            "Where the chart has them, POLY_TYPE L (land) and N (no data) → 255, W (water) → 0, and fast ice (form "
            "code 08 in FA, FB, FC or FP) → 10. A concentration in percent maps to the nearest 10 % "
            "(below 10 %: 0).\n\n"
            "A pixel takes the class of the polygon containing its centre; pixels in no polygon are 255.").format(rows)

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterFeatureSource(self.CHART, self.tr("Ice chart (polygons)"),
                                                     types=[QgsProcessing.TypeVectorPolygon]),
                 "SIGRID-3 polygons (e.g. a DMI, CIS or NIC chart) with total concentration CT, or any polygons with a "
                 "concentration field.")
        self.add(QgsProcessingParameterField(self.CT_FIELD, self.tr("Concentration field (empty: CT)"),
                                             parentLayerParameterName=self.CHART, optional=True),
                 "Empty: the SIGRID-3 field CT. Another field: a concentration in percent (or SIGRID-3 codes, "
                 "with Field coding).")
        self.add(QgsProcessingParameterEnum(self.CODING, self.tr("Field coding"), options=list(CODING_LABELS),
                                            defaultValue=0),
                 "What the concentration field holds.", advanced=True)
        self.add(QgsProcessingParameterRasterLayer(self.REFERENCE, self.tr("Reference grid")),
                 "The chart is drawn on this raster's grid (e.g. the SIC chart to score, or the SAR scene).")
        self.add_compression()
        self.add(QgsProcessingParameterRasterDestination(self.OUTPUT, self.tr("SIC classes from the chart")),
                 "uint8 GeoTIFF: SIC class 0–10, 255 = land, no data or outside the chart; WMO colours.")

    def process(self, parameters, context, feedback):
        field = self.parameterAsString(parameters, self.CT_FIELD, context) or "CT"
        source = checks.vector_layer(
            self, parameters, self.CHART, context, geometry=(QgsWkbTypes.PolygonGeometry,), fields=(field,),
            what=self.tr("ice-chart polygons with a concentration field ('{0}')").format(field),
            field_hint=self.tr("A SIGRID-3 chart has CT; otherwise choose the concentration field in {0}.").format(
                self.label(self.CT_FIELD)))
        names = source.fields().names()
        coding = self.parameterAsEnum(parameters, self.CODING, context)
        percent = coding == 2 or (coding == 0 and field != "CT")
        reference = inputs.raster_path(self, parameters, self.REFERENCE, context)
        wkbs, records = _polygons(source, reference, context, field, names)
        classes, bad = sigrid.polygon_classes(records, percent=percent)
        if bad:
            raise self.error(f"{len(bad)} polygon(s) of {self.label(self.CHART)} have a concentration that cannot be "
                             f"read ({'; '.join(bad[:3])}{' …' if len(bad) > 3 else ''}). "
                             f"Check {self.label(self.CT_FIELD)} and the Field coding.")
        if not wkbs:
            raise checks.no_geometry_error(self, source, self.CHART, self.tr("ice-chart polygons"))
        out = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        hint = self.tr("No pixel centre of {0} lies in a polygon of {1} with a concentration (class 0–10): the chart "
                       "covers only land, no-data or unknown polygons there, or its polygons are smaller than a pixel. "
                       "Choose the grid of the scene the chart covers, or a finer grid.").format(
            self.label(self.REFERENCE), self.label(self.CHART))
        res = sigrid.chart_file(wkbs, classes, reference, out, field=field, percent=percent,
                                chart_label=self.label(self.CHART), grid_label=self.label(self.REFERENCE),
                                options=self.run_options(parameters, context, feedback, empty_hint=hint))
        counts = res["polygons"]
        per_class = ", ".join(f"{n} × class {k}" for k, n in enumerate(counts[:-1]) if n)
        masked = self.tr(", {0} masked (land, no data, unknown)").format(counts[-1]) if counts[-1] else ""
        feedback.pushInfo(self.tr("{0} polygons ({1} in '{2}'): {3}{4}").format(
            len(wkbs), "percent" if percent else "SIGRID-3 CT codes", field, per_class, masked))
        outputs.report_infinite(self, feedback, res)
        self.style_sic(context, out)
        return {self.OUTPUT: out}
