"""sarsense:validatemoisture — bias, RMSE, ubRMSE and R (with its 95 % interval) of estimates against in situ."""

from __future__ import annotations

import numpy as np
from qgis.core import (
    QgsProcessingOutputNumber,
)

from ....algorithms import report as _report
from ....algorithms.metrics import continuous_scores
from ....algorithms.soil_moisture import hybrid
from ....algorithms.soil_moisture import validation as val
from .. import outputs
from . import samples
from .base import SoilMoistureAlgorithm
from .samples import first_field

COLUMNS = [("group", str), ("n", int), ("bias", float), ("rmse", float), ("ubrmse", float), ("r", float),
           ("r_ci95_low", float), ("r_ci95_high", float), ("p_value", float)]
#: Stations drawn as time series in the report (the ones with most samples).
MAX_SERIES = 8


class ValidateMoistureAlgorithm(SoilMoistureAlgorithm):
    SAMPLES, ESTIMATE_FIELD, REFERENCE_FIELD, GROUP_FIELD = ("SAMPLES", "ESTIMATE_FIELD", "REFERENCE_FIELD",
                                                             "GROUP_FIELD")
    OUTPUT_TABLE, OUTPUT_HTML = "OUTPUT_TABLE", "OUTPUT_HTML"
    BIAS, RMSE, UBRMSE, R, N = "BIAS", "RMSE", "UBRMSE", "R", "N"

    def name(self):
        return "validatemoisture"

    def displayName(self):
        return self.tr("Validate soil moisture against in situ")

    def tags(self):
        return self.tr("validation,rmse,ubrmse,bias,pearson,correlation,in situ,ismn,soil moisture,report").split(",")

    def help_text(self):
        return self.tr(
            "Scores soil-moisture estimates against in-situ values, overall and per group (station or network): bias "
            "(mean estimate − mean in situ), RMSE, ubRMSE (√(RMSE² − bias²)), Pearson's R with its 95 % confidence "
            "interval (Fisher z) and p-value, and N, with pytesmo's definitions (Fayad et al. 2022 eq. 8-10). "
            "The HTML report shows, as the paper's figures: estimated against in-situ values coloured by NDVI (fig. "
            "2), box plots of the stations' R and RMSE per network (fig. 4), time series of in-situ values and "
            "estimates with VV and NDVI (fig. 6), and RMSE and bias by NDVI class (fig. 7). NDVI and VV are taken "
            "from fields of those names when the layer has them.")

    def initAlgorithm(self, config=None):
        samples.add_samples(self, "Samples",
                            "A layer with estimated and in-situ values (e.g. extracted at stations after mapping).")
        samples.add_field(self, self.ESTIMATE_FIELD, "Estimate field", "SSM", "Estimated soil moisture.")
        samples.add_field(self, self.REFERENCE_FIELD, "In-situ field", "ssm_insitu", "In-situ soil moisture.")
        samples.add_field(self, self.GROUP_FIELD, "Group field", "station",
                          "Scores per value of this field (station or network).", numeric=False)
        self.add_table_output(self.OUTPUT_TABLE, "Scores",
                              "One row for all samples, then one per group: N, bias, RMSE, ubRMSE, R, its 95 % "
                              "interval, p-value.")
        self.add_html_output(self.OUTPUT_HTML, "Validation report", "HTML with the paper's figures 2, 4, 6, 7.")
        for name, label in ((self.BIAS, "Bias"), (self.RMSE, "RMSE"), (self.UBRMSE, "ubRMSE"), (self.R, "Pearson R"),
                            (self.N, "Samples")):
            self.addOutput(QgsProcessingOutputNumber(name, self.tr(label)))

    def _estimate_field(self, wanted, fields, others, feedback):
        """The estimate field: ``wanted`` (any case), else the samples' only numeric field that is neither the
        reference, the group, a count nor a known predictor (a map extracted at the stations under its layer
        name, as a model's temporary output gives it)."""
        names = [f.name() for f in fields]
        same = [n for n in names if n.lower() == wanted.lower()]
        if same:
            return same[0]
        known = {hybrid.find_field(k, names) for k in hybrid.KEYS}
        rest = [f.name() for f in fields if f.isNumeric() and f.name() not in others and f.name() not in known
                and f.name().lower() not in ("n_insitu", "fid", "lon", "lat")]
        if len(rest) == 1:
            feedback.pushInfo(self.tr("no field '{0}': the estimates are read from '{1}', the only other numeric "
                                      "field.").format(wanted, rest[0]))
            return rest[0]
        return wanted

    def process(self, parameters, context, feedback):
        f_e = samples.field(self, parameters, self.ESTIMATE_FIELD, context)
        f_r = samples.field(self, parameters, self.REFERENCE_FIELD, context)
        f_g = samples.field(self, parameters, self.GROUP_FIELD, context)
        source = self.parameterAsSource(parameters, self.SAMPLES, context)
        if source is None:
            raise self.error(self.invalidSourceError(parameters, self.SAMPLES))
        names = [f.name() for f in source.fields()]
        f_e = self._estimate_field(f_e, source.fields(), (f_r, f_g), feedback)
        extra = [n for n in (hybrid.find_field("NDVI", names), hybrid.find_field("VV", names)) if n]
        net = first_field(names, ("network",))   # extractstations carries the stations' network
        s = samples.read_samples(self, parameters, self.SAMPLES, context,
                                 [f_e, f_r] + [n for n in extra if n not in (f_e, f_r)],
                                 text=[f_g] + ([net] if net and net != f_g else []), feedback=feedback)
        samples.check_comparable(self, s, (self.ESTIMATE_FIELD, f_e), (self.REFERENCE_FIELD, f_r))
        est, ref = s[f_e], s[f_r]
        overall = continuous_scores(est, ref)
        if overall["n"] < 2:
            raise self.error(f"{overall['n']} sample(s) have both an estimate ('{f_e}') and an in-situ value "
                             f"('{f_r}'): at least 2 are needed.")
        groups = s[f_g] if f_g else None
        per = val.scores_by_group(est, ref, groups) if groups is not None else []
        rows = [["all"] + self._row(overall)] + [[g] + self._row(sc) for g, sc in per]
        table = outputs.write_table(self, parameters, self.OUTPUT_TABLE, context, COLUMNS, rows)
        feedback.pushInfo(self.tr("N {0}: bias {1:+.4f}, RMSE {2:.4f}, ubRMSE {3:.4f}, R {4:.3f} [{5:.3f}, "
                                  "{6:.3f}]").format(overall["n"], overall["bias"], overall["rmse"], overall["ubrmse"],
                                                     overall["r"], overall["r_low"], overall["r_high"]))
        html = self.parameterAsFileOutput(parameters, self.OUTPUT_HTML, context)
        self._report(html, s, est, ref, groups, per, overall, f_e, f_r, f_g, net)
        return {self.OUTPUT_TABLE: table, self.OUTPUT_HTML: html, self.BIAS: overall["bias"],
                self.RMSE: overall["rmse"], self.UBRMSE: overall["ubrmse"], self.R: overall["r"], self.N: overall["n"]}

    @staticmethod
    def _row(sc):
        return [sc["n"], sc["bias"], sc["rmse"], sc["ubrmse"], sc["r"], sc["r_low"], sc["r_high"], sc["p"]]

    def _report(self, path, s, est, ref, groups, per, overall, f_e, f_r, f_g, net):
        rep = _report.Report("Soil moisture validation against in-situ values",
                             source=f"{len(s)} samples from {s.origin}; estimate '{f_e}', in situ '{f_r}'"
                                    f"{', grouped by ' + repr(f_g) if f_g else ''}.")
        head = ["group", "N", "bias", "RMSE", "ubRMSE", "R", "R 95 % low", "R 95 % high", "p"]
        rep.table(head, [["all"] + self._row(overall)] + [[g] + self._row(sc) for g, sc in per],
                  caption="Scores (m³/m³; pytesmo's definitions)", digits=4)
        ndvi = hybrid.find_field("NDVI", s.values)
        vv = hybrid.find_field("VV", s.values)
        rep.image(val.scatter_figure(est, ref, s[ndvi] if ndvi else None), "Estimated against in situ (fig. 2)")
        if per and "station" in (f_g or "").lower():
            # a station's network: the samples' network field, else the "network/station" form of its id
            net_of = dict(zip(s.station, s[net])) if net else \
                {st: st.split("/")[0] if "/" in st else "all" for st in set(s.station)}
            per_net = {g: net_of.get(g, "all") for g, _ in per}
            rep.image(val.boxplot_figure(per, per_net),
                      f"Stations' R and RMSE per network (fig. 4): {', '.join(sorted(set(per_net.values())))}")
        counts = sorted(((int(np.sum((s.station == st) & np.isfinite(est) & np.isfinite(ref))), st)
                         for st in set(s.station)), reverse=True)
        times = s.date.astype("datetime64[D]")
        right = " and ".join(label for label, f in (("VV (dB)", vv), ("NDVI (unitless, 0-1)", ndvi)) if f)
        right_axes = f"; {right} on the right axes" if right else ""
        for _, st in counts[:MAX_SERIES]:
            sel = s.station == st
            rep.image(val.timeseries_figure(st, times[sel], est[sel], ref[sel], s[vv][sel] if vv else None,
                                            s[ndvi][sel] if ndvi else None),
                      f"Time series at {st} (fig. 6): soil moisture in situ and estimated (m³/m³, left axis)"
                      f"{right_axes}.")
        if ndvi:
            classes = val.ndvi_class_scores(est, ref, s[ndvi])
            if classes:
                rep.image(val.ndvi_figure(classes), "RMSE and bias by NDVI class (fig. 7)")
        rep.write(path)
