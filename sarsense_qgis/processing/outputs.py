"""Outputs beside the rasters the core writes: tables (feature sinks), and what a run counted, in the log."""

from __future__ import annotations

import numpy as np
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingException,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QVariant

_FIELD_TYPES = {int: QVariant.LongLong, float: QVariant.Double, str: QVariant.String, bool: QVariant.Bool}


def _plain(value, kind):
    """A table cell as QGIS stores it: Python scalars, NULL for None and NaN."""
    if value is None:
        return None
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    return kind(value.item() if isinstance(value, np.generic) else value)


def write_table(alg, parameters, name, context, columns, rows, *, points=None, crs=None):
    """Write ``rows`` (sequences) to table output ``name`` with ``columns`` ``[(field, int|float|str|bool)]``;
    NaN becomes NULL. With ``points`` (one ``(x, y)`` per row, in ``crs``) the output is a point layer.
    Returns the output's id."""
    fields = QgsFields()
    for col, kind in columns:
        fields.append(QgsField(col, _FIELD_TYPES[kind]))
    geometry = QgsWkbTypes.Point if points is not None else QgsWkbTypes.NoGeometry
    sink, dest = alg.parameterAsSink(parameters, name, context, fields, geometry,
                                     crs if crs is not None else QgsCoordinateReferenceSystem())
    if sink is None:
        raise QgsProcessingException(alg.invalidSinkError(parameters, name))
    for i, row in enumerate(rows):
        feature = QgsFeature(fields)
        feature.setAttributes([_plain(v, kind) for v, (_, kind) in zip(row, columns)])
        if points is not None:
            feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(*points[i])))
        sink.addFeature(feature, QgsFeatureSink.FastInsert)
    return dest


def report_infinite(alg, feedback, result):
    """Warn about what the engine replaced: ±inf values the computation gave, written as NaN."""
    n = result.get("infinite", 0) if isinstance(result, dict) else 0
    if n and feedback is not None:
        feedback.pushWarning(alg.tr("{0} pixels had no finite result (±inf) and were written as NaN "
                                    "(nodata).").format(n))


def report_counts(alg, feedback, counts, messages):
    """Log each non-zero count (a :class:`~sarsense.algorithms.io.engine.Counts` or the ``dict`` a job returns)
    with its sentence (``messages[name]`` has ``{n}``)."""
    for key, text in messages.items():
        n = counts[key]
        if n and feedback is not None:
            feedback.pushWarning(alg.tr(text).format(n=n))


def report_nonfinite(alg, feedback, model):
    """Warn about the model outputs the runtime masked: NaN or ±inf where the input was valid, written as NaN (the
    output's metadata says it too: ``SARSENSE_MODEL_NONFINITE``)."""
    text = model.nonfinite_text() if model is not None else ""
    if text and feedback is not None:
        feedback.pushWarning(alg.tr("{0} (the output's metadata SARSENSE_MODEL_NONFINITE says so too).").format(text))
    return text


def report_model(alg, feedback, model, info=None):
    """Log the model a run uses: what it is and what it was trained on (its card); for a demonstration model
    (its card's Status) a warning that its outputs are labelled so. With the input grid ``info`` (an image
    model), also the input's pixel size, and a warning when it is outside the scale the model was validated on
    (``Model.scale_notice``). Returns the demonstration warning, or ''."""
    notice = model.demonstration_notice()
    if feedback is not None:
        feedback.pushInfo(alg.tr("Model: {0}").format(model.describe()))
        if notice:
            feedback.pushWarning(notice)
        if info is not None:
            line, warning = model.scale_notice(info)
            feedback.pushInfo(line)
            if warning:
                feedback.pushWarning(alg.tr("Scale: {0}").format(warning))
    return notice
