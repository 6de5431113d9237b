"""sarsense:importismn — in-situ soil moisture from an ISMN download (or the Raam CSV files): stations and values."""

from __future__ import annotations

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ....algorithms.io import Cancelled
from ....algorithms.soil_moisture import insitu
from .. import outputs
from .base import SoilMoistureAlgorithm

STATION_COLUMNS, VALUE_COLUMNS = insitu.STATION_COLUMNS, insitu.VALUE_COLUMNS


class ImportIsmnAlgorithm(SoilMoistureAlgorithm):
    INPUT, DEPTH_MAX_M, FLAGS = "INPUT", "DEPTH_MAX_M", "FLAGS"
    OUTPUT_STATIONS, OUTPUT_VALUES, N_STATIONS, N_VALUES = "OUTPUT_STATIONS", "OUTPUT_VALUES", "N_STATIONS", "N_VALUES"
    N_SKIPPED = "N_SKIPPED"

    def name(self):
        return "importismn"

    def displayName(self):
        return self.tr("Import in-situ soil moisture (ISMN)")

    def tags(self):
        return self.tr("ismn,in situ,station,soil moisture,ground truth,raam,stm,ceop,validation").split(",")

    def help_text(self):
        return self.tr(
            "Reads an ISMN download (International Soil Moisture Network; the zip or the unpacked folder) in either "
            "of ISMN's layouts, 'header + values' or 'CEOP separate', and writes its soil-moisture sensors as points "
            "and their readings as a table. Only sensors whose lower depth is at most the maximum depth are kept "
            "(0.1 m: the few centimetres C-band sees), and only readings whose ISMN quality flags are all accepted "
            "(G: good). Times are UTC.\n\nIt also reads the Raam network's daily CSV files (raam_daily_5cm.csv and "
            "Raam_station_locations_WGS84.csv in one folder or zip, Benninga et al. 2018): a daily mean stands for "
            "its whole UTC day (period_h = 24), so that 'Extract raster values at stations' matches it to any "
            "acquisition of that day.\n\nA file that cannot be read is named in the log with the reason, and the rest "
            "is imported; so is a record (line) that cannot be read: it is skipped, named with its file, line and "
            "reason, and counted (Skipped records; n_skipped per station). Text that is not UTF-8 is read as "
            "Windows-1252 (said in the log). A flag filter that keeps no reading is refused, naming the flags the "
            "readings carry. ISMN's terms forbid redistributing its data: keep the download for your own use.")

    def initAlgorithm(self, config=None):
        self.add(QgsProcessingParameterFile(self.INPUT, self.tr("ISMN download (zip or folder)"),
                                            behavior=QgsProcessingParameterFile.File,
                                            fileFilter="Zip (*.zip);;All (*)"),
                 "The zip ISMN's download page made, or the folder it unpacks to (…/network/station/*.stm). A folder "
                 "can be typed or pasted in the dialog; qgis_process takes either path.")
        self.add(QgsProcessingParameterNumber(self.DEPTH_MAX_M, self.tr("Maximum sensor depth (m)"),
                                              type=QgsProcessingParameterNumber.Double, defaultValue=0.1, minValue=0.0,
                                              maxValue=10.0),
                 "Sensors whose lower depth is at most this are kept (0.1 m: surface soil moisture).", decimals=3)
        self.add(QgsProcessingParameterString(self.FLAGS, self.tr("Accepted ISMN quality flags"), defaultValue="G"),
                 "Comma-separated ISMN flags a reading may carry (G good; D01…D10 dubious; C01…C03 out of range). A "
                 "reading is kept when all its flags are listed.")
        self.add_table_output(self.OUTPUT_STATIONS, "Stations",
                              "Points (WGS 84): id (network/station), network, station, sensor, depths, lon, lat, "
                              "number of kept values, first and last reading, records of its file skipped as "
                              "unreadable.")
        self.add_table_output(self.OUTPUT_VALUES, "In-situ values",
                              "Table: station id, UTC time, soil moisture (m³/m³), period the value covers (h), "
                              "sensor.")
        self.addOutput(QgsProcessingOutputNumber(self.N_STATIONS, self.tr("Stations")))
        self.addOutput(QgsProcessingOutputNumber(self.N_VALUES, self.tr("Values")))
        self.addOutput(QgsProcessingOutputNumber(self.N_SKIPPED, self.tr("Skipped records")))

    def process(self, parameters, context, feedback):
        src = self.parameterAsFile(parameters, self.INPUT, context)
        depth = self.parameterAsDouble(parameters, self.DEPTH_MAX_M, context)
        flags = insitu.parse_flags(self.parameterAsString(parameters, self.FLAGS, context))
        res = insitu.read_insitu(src, depth_max=depth, flags=flags)
        for name, why in res.problems:
            feedback.pushWarning(self.tr("Not imported: {0}: {1}").format(name, why))
        for line in insitu.skipped_summary(res.skipped):
            feedback.pushWarning(self.tr("Not imported: {0}").format(line))
        for name, encoding in res.decoded:
            feedback.pushInfo(self.tr("{0} is not UTF-8 text: read as {1}.").format(name, encoding))
        refusal = insitu.nothing_kept(res, flags, self.label(self.FLAGS))
        if refusal:
            raise self.error(refusal)
        if res.too_deep:
            feedback.pushInfo(self.tr("{0} sensor(s) deeper than {1:g} m left out.").format(len(res.too_deep), depth))
        sensors = res.sensors
        feedback.pushInfo(self.tr("{0}: {1} sensor(s) at {2} station(s), {3} values kept ({4}) of {5} read; "
                                  "{6} unreadable record(s) skipped.").format(
            res.layout, len(sensors), len({s.station_id for s in sensors}), sum(len(s.values) for s in sensors),
            self.tr("flags {0}").format(", ".join(sorted(flags))) if res.flag_counts else self.tr("no quality flags"),
            sum(s.n_read for s in sensors), len(res.skipped)))
        if not res.flag_counts and flags != insitu.parse_flags(self.parameterDefinition(self.FLAGS).defaultValue()):
            feedback.pushWarning(self.tr("{0} = {1} was not applied: the {2} files carry no ISMN quality flags, so "
                                         "every readable value was kept.").format(
                self.label(self.FLAGS), ", ".join(sorted(flags)), res.layout))
        empty = [s.station_id for s in sensors if not len(s.values)]
        if empty:
            feedback.pushWarning(self.tr("No reading passed the flag filter at {0}{1}.").format(
                ", ".join(empty[:5]), " …" if len(empty) > 5 else ""))
        if feedback.isCanceled():
            raise Cancelled()

        rows = insitu.sensor_rows(sensors)
        stations = outputs.write_table(self, parameters, self.OUTPUT_STATIONS, context, STATION_COLUMNS, rows,
                                       points=[(s.lon, s.lat) for s in sensors],
                                       crs=QgsCoordinateReferenceSystem("EPSG:4326"))
        values = insitu.reading_rows(sensors)
        table = outputs.write_table(self, parameters, self.OUTPUT_VALUES, context, VALUE_COLUMNS, values)
        return {self.OUTPUT_STATIONS: stations, self.OUTPUT_VALUES: table, self.N_STATIONS: len(rows),
                self.N_VALUES: len(values), self.N_SKIPPED: len(res.skipped)}
