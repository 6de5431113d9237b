"""What the qgis_process tests share: run qgis_process.bin as a user does, read its JSON, check a refusal."""

import hashlib
import json
import os
import subprocess

import pytest

QGIS_PROCESS = "/usr/bin/qgis_process.bin"  # Debian's qgis_process wrapper passes a flag 3.22 rejects
#: Every test module here: skipped where QGIS's qgis_process.bin is missing.
needs_qgis_process = pytest.mark.skipif(not os.path.exists(QGIS_PROCESS), reason="qgis_process.bin not installed")


def qp(env, *args):
    """``qgis_process.bin *args`` in ``env`` (the ``env`` fixture: fresh HOME, plugin enabled)."""
    return subprocess.run([QGIS_PROCESS, *args], env=env, capture_output=True, text=True, timeout=300)


def run(env, alg, *args, **params):
    """``qgis_process run sarsense:<alg> --json`` with ``--KEY=value`` arguments (given as text or keywords)."""
    return qp(env, "run", f"sarsense:{alg}", "--json", *args, *[f"--{k}={v}" for k, v in params.items()])


def run_json(env, alg, *args, **params):
    """The JSON document of a run that must succeed."""
    res = run(env, alg, *args, **params)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return json.loads(res.stdout[res.stdout.index("{"):])


def ok(env, alg, *args, **params):
    """The results of a run that must succeed."""
    return run_json(env, alg, *args, **params)["results"]


def refusal(res, *needles):
    """The text of a finished run that must have been refused with a message (no traceback) naming ``needles``."""
    text = res.stdout + res.stderr
    assert res.returncode != 0, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    for needle in needles:
        assert needle in text, text[-3000:]
    return text


def refused(env, alg, *args, match, **params):
    """Run ``alg``, which must be refused with a message containing ``match`` (text or a tuple of texts)."""
    return refusal(run(env, alg, *args, **params), *((match,) if isinstance(match, str) else match))


def digest(path):
    """An input's bytes (sha256), to show that a run left it as it was."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def bad_layer(path, kind, srs, fields, wkt=None):
    """A GeoPackage layer that cannot serve as samples, polygons or a chart, with ``fields`` ({name: (OGR type,
    value)}): ``empty`` (a polygon layer, no feature), ``table`` (a feature, no geometry column), ``nulls`` (a
    polygon layer whose one feature has no geometry), ``lines`` or ``points`` (one feature of geometry ``wkt``)."""
    from osgeo import ogr
    gtype = {"empty": ogr.wkbPolygon, "table": ogr.wkbNone, "lines": ogr.wkbLineString, "points": ogr.wkbPoint,
             "nulls": ogr.wkbPolygon}[kind]
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(path))
    layer = ds.CreateLayer(kind, None if gtype == ogr.wkbNone else srs, gtype)
    for name, (ftype, _) in fields.items():
        layer.CreateField(ogr.FieldDefn(name, ftype))
    if kind != "empty":
        f = ogr.Feature(layer.GetLayerDefn())
        for name, (_, value) in fields.items():
            f.SetField(name, value)
        if kind in ("lines", "points"):
            f.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(f)
    ds = None
    return str(path)


def bolivia_series(env, tmp):
    """The bundled Bolivia VV series and its Landsat NDVI put on the radar dates, as the docs' example makes them
    (buildstack, buildstack, interpolatetime through qgis_process): ``{"vv", "ndvi"}`` paths in ``tmp``."""
    from helpers import REPO, STACK_DIR
    ndvi_dir = REPO / "resources" / "sample_data" / "landsat_ndvi_bolivia"
    vv = ok(env, "buildstack", *[f"--INPUTS={p}" for p in sorted(STACK_DIR.glob("*.tif"))], "--DROP_EMPTY=true",
            f"--OUTPUT={tmp / 'vv.tif'}")["OUTPUT"]
    nd = ok(env, "buildstack", *[f"--INPUTS={p}" for p in sorted(ndvi_dir.glob("*.tif"))], "--DROP_EMPTY=true",
            f"--OUTPUT={tmp / 'nd.tif'}")["OUTPUT"]
    ndvi = ok(env, "interpolatetime", f"--INPUT={nd}", f"--TARGET={vv}", "--MAX_GAP_DAYS=60",
              f"--OUTPUT={tmp / 'n1.tif'}")["OUTPUT"]
    return {"vv": vv, "ndvi": ndvi}
