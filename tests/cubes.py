"""Small CF datacubes written by the tests (NetCDF through GDAL's multidimensional API, Zarr v2 by hand), in the
layouts users download: openEO (``t``, ``y``, ``x``, a ``crs`` variable, time in days) and xarray/rioxarray
(``time``, ``y``, ``x``, a ``spatial_ref`` variable, time in seconds). Shared by every suite's tests and by the
simulators' checks: :func:`write_cube`.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()

#: The two layouts: time dimension name, CRS variable name, CF time units.
LAYOUTS = {"openeo": ("t", "crs", "days since 1970-01-01"),
           "xarray": ("time", "spatial_ref", "seconds since 1970-01-01 00:00:00")}
EPOCH = np.datetime64("1970-01-01T00:00:00", "s")


def cube_times(start="2018-08-02T17:32:05", n=4, every_days=6):
    """``n`` acquisition times (datetime64[s]) ``every_days`` apart from ``start``."""
    return [np.datetime64(start, "s") + np.timedelta64(int(k * every_days * 86400), "s") for k in range(n)]


def encode(values, *, dtype, scale=None, offset=None, fill=None):
    """Physical ``values`` (NaN: missing) as the raw values a file of ``dtype`` with ``scale``/``offset``/``fill``
    stores."""
    v = np.asarray(values, np.float64)
    raw = (v - (offset or 0.0)) / (scale or 1.0)
    if np.dtype(dtype).kind in "iu":
        raw = np.where(np.isfinite(raw), np.round(raw), fill)
    elif fill is not None and not np.isnan(fill):
        raw = np.where(np.isfinite(raw), raw, fill)
    return raw.astype(dtype)


def write_cube(path, variables, times, *, layout="openeo", fmt=None, x0=500000.0, y0=5600000.0, res=20.0,
               cf_xy=False, y_up=False, epsg=32631, crs=True, dtype=np.float32, scale=None, offset=None,
               fill=None, calendar=None, time_units=None, per_time=None, x_coords=None, dims=None, static=None,
               coords=True):
    """Write a cube of ``variables`` (``{name: physical values (t, y, x)}``, NaN missing) at ``times`` to ``path``
    (``.nc`` NetCDF, ``.zarr`` Zarr v2; ``fmt`` overrides). Returns ``path``.

    Grid: cell centres ``x0 + res/2 + i·res`` and, row 0 being the northern edge ``y0``, ``y0 − res/2 − j·res``;
    ``y_up`` stores the rows south first (y increasing), with the values flipped so the picture is the same.
    ``cf_xy`` gives x/y CF attributes (standard_name, units), which GDAL needs for a geotransform. ``crs``: a
    CRS variable (``crs``/``spatial_ref``) named by ``grid_mapping``; False writes none. Values are encoded as
    ``dtype`` with ``scale``, ``offset`` and ``fill`` (``_FillValue``). ``per_time``: 1-D variables on the time
    dimension (``{"relative_orbit": [...], "platform": [...]}``). ``x_coords``: other x values (irregular
    grids); ``dims``: other dimension order (names). ``time_units``/``calendar``: other CF time attributes.
    ``static``: 2-D (y, x) float32 variables beside the cube's (a land mask, an incidence angle), NetCDF only.
    ``coords`` False: no x/y coordinate variables, the grid in the CRS variable's ``GeoTransform`` attribute as
    GDAL writes it (NetCDF only).
    """
    tname, crsname, units = LAYOUTS[layout]
    units = time_units or units
    fmt = fmt or ("Zarr" if str(path).endswith(".zarr") else "netCDF")
    first = np.asarray(next(iter(variables.values())))
    nt, ny, nx = first.shape
    xs = np.asarray(x_coords, np.float64) if x_coords is not None else x0 + res / 2 + res * np.arange(nx)
    ys = y0 - res / 2 - res * np.arange(ny)
    per_unit = {"days": 86400.0, "seconds": 1.0, "hours": 3600.0, "minutes": 60.0}.get(units.split()[0], 86400.0)
    tvals = np.array([(np.datetime64(t, "s") - EPOCH).astype(np.int64) / per_unit for t in times])
    if units.startswith("seconds"):
        tvals = tvals.astype(np.int64)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    data = {}
    for name, values in variables.items():
        v = np.asarray(values, np.float64)
        data[name] = encode(v[:, ::-1] if y_up else v, dtype=dtype, scale=scale, offset=offset, fill=fill)
    spec = dict(tname=tname, crsname=crsname, units=units, calendar=calendar, xs=xs, ys=ys[::-1] if y_up else ys,
                tvals=tvals, wkt=srs.ExportToWkt() if crs else None, cf_xy=cf_xy, scale=scale, offset=offset,
                fill=fill, per_time=per_time or {}, dims=dims or (tname, "y", "x"), static=static or {}, coords=coords,
                gt=f"{x0!r} {res!r} 0 {y0!r} 0 {-res!r}")
    if os.path.exists(path):
        shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    (_write_netcdf if fmt == "netCDF" else _write_zarr)(str(path), data, spec)
    return path


def _string_attr(array, name, value):
    attr = array.CreateAttribute(name, [], gdal.ExtendedDataType.CreateString())
    attr.Write(str(value))


def _number_attr(array, name, value, gdt=gdal.GDT_Float64):
    attr = array.CreateAttribute(name, [], gdal.ExtendedDataType.Create(gdt))
    attr.Write(value)


_GDT = {np.dtype(np.float32): gdal.GDT_Float32, np.dtype(np.float64): gdal.GDT_Float64,
        np.dtype(np.int32): gdal.GDT_Int32, np.dtype(np.int16): gdal.GDT_Int16, np.dtype(np.uint16): gdal.GDT_UInt16}


def _write_netcdf(path, data, s):
    ds = gdal.GetDriverByName("netCDF").CreateMultiDimensional(path)
    rg = ds.GetRootGroup()
    nt, ny, nx = next(iter(data.values())).shape
    sizes = {s["tname"]: nt, "y": ny, "x": nx}
    dims = {n: rg.CreateDimension(n, None, None, sizes[n]) for n in (s["tname"], "y", "x")}
    f64 = gdal.ExtendedDataType.Create(gdal.GDT_Float64)
    for name, values in (("x", s["xs"]), ("y", s["ys"])) if s["coords"] else ():
        coord = rg.CreateMDArray(name, [dims[name]], f64)
        coord.Write(np.asarray(values, np.float64))
        if s["cf_xy"]:
            _string_attr(coord, "standard_name", f"projection_{name}_coordinate")
            _string_attr(coord, "units", "m")
    tcoord = rg.CreateMDArray(s["tname"], [dims[s["tname"]]], f64)
    tcoord.Write(np.asarray(s["tvals"], np.float64))
    _string_attr(tcoord, "units", s["units"])
    if s["calendar"]:
        _string_attr(tcoord, "calendar", s["calendar"])
    if s["wkt"]:
        crs = rg.CreateMDArray(s["crsname"], [], gdal.ExtendedDataType.Create(gdal.GDT_Int32))
        _string_attr(crs, "crs_wkt", s["wkt"])
        _string_attr(crs, "spatial_ref", s["wkt"])
        if not s["coords"]:
            _string_attr(crs, "GeoTransform", s["gt"])
    for name, values in s["per_time"].items():
        strings = isinstance(values[0], str)
        arr = rg.CreateMDArray(name, [dims[s["tname"]]], gdal.ExtendedDataType.CreateString() if strings
                               else gdal.ExtendedDataType.Create(gdal.GDT_Int32))
        arr.Write(list(values) if strings else np.asarray(values, np.int32))
    for name, values in s["static"].items():
        rg.CreateMDArray(name, [dims["y"], dims["x"]], gdal.ExtendedDataType.Create(gdal.GDT_Float32)).Write(
            np.asarray(values, np.float32))
    for name, raw in data.items():
        raw = _in_order(raw, s)
        var = rg.CreateMDArray(name, [dims[n] for n in s["dims"]], gdal.ExtendedDataType.Create(_GDT[raw.dtype]))
        if s["scale"] is not None:
            _number_attr(var, "scale_factor", s["scale"])
        if s["offset"] is not None:
            _number_attr(var, "add_offset", s["offset"])
        if s["fill"] is not None:
            _number_attr(var, "_FillValue", s["fill"], _GDT[raw.dtype])
        if s["wkt"]:
            _string_attr(var, "grid_mapping", s["crsname"])
        var.Write(np.ascontiguousarray(raw))


def _zarr_array(root, name, values, dims, attrs, fill=None):
    folder = os.path.join(root, name)
    os.makedirs(folder)
    values = np.asarray(values)
    meta = {"zarr_format": 2, "shape": list(values.shape), "chunks": list(values.shape) or [],
            "dtype": values.dtype.str, "compressor": None, "fill_value": None if fill is None else
            (float(fill) if values.dtype.kind == "f" else int(fill)), "filters": None, "order": "C"}
    with open(os.path.join(folder, ".zarray"), "w") as fh:
        json.dump(meta, fh)
    with open(os.path.join(folder, ".zattrs"), "w") as fh:
        json.dump({"_ARRAY_DIMENSIONS": list(dims), **attrs}, fh)
    key = ".".join("0" for _ in values.shape) or "0"
    with open(os.path.join(folder, key), "wb") as fh:
        fh.write(np.ascontiguousarray(values).tobytes())


def _write_zarr(path, data, s):
    """Zarr v2 as xarray writes it (``_ARRAY_DIMENSIONS``, CF attributes), uncompressed, one chunk per array."""
    os.makedirs(path)
    with open(os.path.join(path, ".zgroup"), "w") as fh:
        json.dump({"zarr_format": 2}, fh)
    cf = {"x": {"standard_name": "projection_x_coordinate", "units": "m"},
          "y": {"standard_name": "projection_y_coordinate", "units": "m"}}
    for name, values in (("x", s["xs"]), ("y", s["ys"])):
        _zarr_array(path, name, np.asarray(values, "<f8"), [name], cf[name] if s["cf_xy"] else {})
    tattrs = {"units": s["units"], **({"calendar": s["calendar"]} if s["calendar"] else {})}
    _zarr_array(path, s["tname"], np.asarray(s["tvals"], "<f8"), [s["tname"]], tattrs)
    if s["wkt"]:
        _zarr_array(path, s["crsname"], np.asarray(0, "<i4"), [], {"crs_wkt": s["wkt"], "spatial_ref": s["wkt"]})
    for name, values in s["per_time"].items():
        if not isinstance(values[0], str):
            _zarr_array(path, name, np.asarray(values, "<i4"), [s["tname"]], {})
    for name, raw in data.items():
        attrs = {k: v for k, v in (("scale_factor", s["scale"]), ("add_offset", s["offset"])) if v is not None}
        if s["wkt"]:
            attrs["grid_mapping"] = s["crsname"]
        raw = _in_order(raw, s)
        _zarr_array(path, name, raw.astype(raw.dtype.newbyteorder("<")), s["dims"], attrs, fill=s["fill"])


def _in_order(raw, s):
    """``raw`` (t, y, x) with its axes in the order of ``s["dims"]``."""
    return np.transpose(raw, [(s["tname"], "y", "x").index(n) for n in s["dims"]])
