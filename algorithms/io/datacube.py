"""Datacubes (NetCDF, Zarr) read as dated stacks: one variable on a time dimension becomes one band per date.

A cube variable is named as GDAL names it, ``NETCDF:"cube.nc":VV`` or ``ZARR:"cube.zarr":/VV``, or given as the
file itself when the file holds exactly one data variable on a time dimension. :func:`cube_stack` turns it into a
virtual raster (a VRT in ``/vsimem/``, nothing copied, no pixel read) that every SARSense reader takes as any
dated stack (STYLE §8): one band per time step, described by its ISO date, with ``DATE`` and
``ACQUISITION_START_TIME`` the time to the second (UTC), read from the time coordinate and its CF units
(``days since 1970-01-01``, ``seconds since 1970-01-01 00:00:00``; calendars standard, gregorian,
proleptic_gregorian); per-time variables ``relative_orbit``, ``platform`` and ``orbit_direction`` (or their
STAC names ``sat:relative_orbit``, ``sat:orbit_state``) become ``RELATIVE_ORBIT``, ``PLATFORM`` and
``ORBIT_PASS``. The georeferencing comes from the x/y (or lon/lat) coordinate variables (cell centres, regular
spacing; rows north-up whatever the order of y in the file), the CRS from the variable's ``grid_mapping``, a
``crs``/``spatial_ref`` variable (``crs_wkt``, ``spatial_ref``, ``epsg_code``) or GDAL's own reading, and the
band's ``scale_factor``, ``add_offset`` and ``_FillValue`` are declared on every band, so reads give physical
values with the fill as NaN (:func:`~.raster.read_window`).

Only metadata and coordinates are read (a few values per time step): memory stays bounded whatever the cube's
size. GDAL 3.6's netCDF driver gives no geotransform for x/y variables without CF attributes (and reads their
rows bottom-up); this module reads them with ``IGNORE_XY_AXIS_NAME_CHECKS`` and checks the rows' order against the
y coordinate.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import uuid
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

import numpy as np
from osgeo import gdal, osr

gdal.UseExceptions()

#: File name endings read as cubes when a file (not a variable) is given.
CUBE_EXTENSIONS = (".nc", ".nc4", ".netcdf", ".cdf", ".zarr")
#: Names of a time dimension (case-insensitive); any 1-D coordinate with CF units "<unit> since <epoch>" counts too.
TIME_NAMES = ("t", "time", "timestamp", "date", "times")
#: Names of the x and y coordinates, in the order tried (the variable's last two dimensions are taken first).
X_NAMES, Y_NAMES = ("x", "lon", "longitude", "easting"), ("y", "lat", "latitude", "northing")
#: CF calendars that are the proleptic Gregorian calendar for any date a satellite saw (CF conventions §4.4.1).
CALENDARS = ("standard", "gregorian", "proleptic_gregorian", "")
#: Seconds in one CF time unit.
TIME_UNITS = {"second": 1, "seconds": 1, "sec": 1, "secs": 1, "s": 1, "minute": 60, "minutes": 60, "min": 60,
              "mins": 60, "hour": 3600, "hours": 3600, "hr": 3600, "hrs": 3600, "h": 3600, "day": 86400,
              "days": 86400, "d": 86400, "millisecond": 1e-3, "milliseconds": 1e-3, "ms": 1e-3}
#: Per-time variables carried as band metadata (names lower-case, a ``sat:``/``s1:`` prefix dropped).
PER_TIME_KEYS = {"relative_orbit": "RELATIVE_ORBIT", "relative_orbit_number": "RELATIVE_ORBIT",
                 "platform": "PLATFORM", "orbit_direction": "ORBIT_PASS", "orbit_state": "ORBIT_PASS",
                 "orbit_pass": "ORBIT_PASS", "pass_direction": "ORBIT_PASS"}
#: Spacing of a coordinate may vary by this fraction of a pixel (float32 coordinates, rounding) and be regular.
REGULAR_TOLERANCE = 0.01
#: Where the virtual stacks live (one folder per stack, freed by :func:`release`).
VSI_ROOT = "/vsimem/sarsense-cube"
#: The fix for a cube without CRS.
ASSIGN_CRS = ("add a CRS to the cube (a 'crs' variable with a crs_wkt or epsg_code attribute, named by the "
              "variable's grid_mapping attribute; xarray: ds.rio.write_crs('EPSG:32631')), or make it a GeoTIFF "
              "stack and assign its CRS (gdal_edit.py -a_srs EPSG:…)")

_NAME = re.compile(r'^(?P<driver>NETCDF|ZARR):"(?P<path>[^"]+)":(?P<var>.+)$', re.IGNORECASE)
_SINCE = re.compile(r"^\s*(?P<unit>[A-Za-z]+)\s+since\s+(?P<epoch>.+?)\s*$", re.IGNORECASE)
_EPOCH = re.compile(r"^(\d{1,4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d*)?)?)?"
                    r"\s*(?:Z|UTC|GMT|\+0+:?0*|\+00:00)?$", re.IGNORECASE)


class NotACubeError(ValueError):
    """``value`` is a NetCDF/Zarr raster but no cube: a file with no variable on a time dimension, or a 2-D
    variable (GDAL reads it as any raster)."""


@dataclass(frozen=True)
class Cube:
    """One variable of a datacube as a dated stack reads it (:func:`open_cube`)."""

    name: str                 #: GDAL's name of the variable, ``NETCDF:"/abs/cube.nc":VV``
    path: str                 #: the file (or Zarr folder), absolute
    variable: str             #: the variable's name, ``VV``
    driver: str               #: "netCDF" or "Zarr"
    times: tuple              #: numpy.datetime64[s] of every time step, in the file's order (UTC)
    xsize: int
    ysize: int
    geotransform: tuple       #: north-up, from the coordinates (cell centres)
    projection: str           #: WKT
    dtype: str                #: GDAL data type name of the raw values
    scale: float | None       #: declared scale_factor (None: none)
    offset: float | None      #: declared add_offset (None: none)
    nodata: float | None      #: declared _FillValue (None: none)
    flipped: bool             #: GDAL's rows run south to north (read through a north-up warp)
    band_metadata: tuple = field(default=())   #: per time step: RELATIVE_ORBIT / PLATFORM / ORBIT_PASS found
    sources: tuple = field(default=(), repr=False)   #: per time step: (GDAL source name, band number)
    units: str = ""           #: "dB" where the variable's units say decibels, else ""

    @property
    def dates(self):
        """ISO date (YYYY-MM-DD) of every time step."""
        return [str(t)[:10] for t in self.times]


def parse_name(value):
    """``(driver, path, variable)`` of a cube name ``NETCDF:"f.nc":VV`` / ``ZARR:"f.zarr":/VV`` (variable None for a
    file given alone), or None when ``value`` names no cube (another kind of raster, a Zarr 2-D slice
    ``ZARR:"f.zarr":/VV:0``)."""
    if not isinstance(value, (str, os.PathLike)):
        return None
    text = str(value).split("|", 1)[0]
    m = _NAME.match(text)
    if m:
        driver = "netCDF" if m.group("driver").upper() == "NETCDF" else "Zarr"
        var = m.group("var")
        if driver == "Zarr" and re.search(r":\d+$", var):
            return None
        return driver, os.path.abspath(m.group("path")), var.lstrip("/") if driver == "Zarr" else var
    low = text.rstrip("/").lower()
    if low.endswith(CUBE_EXTENSIONS) and os.path.exists(text):
        return ("Zarr" if low.endswith(".zarr") else "netCDF"), os.path.abspath(text.rstrip("/")), None
    return None


def is_cube(value):
    """Whether ``value`` names a cube variable or a NetCDF/Zarr file (by its name alone; nothing is opened)."""
    return parse_name(value) is not None


def variable_name(driver, path, variable):
    """GDAL's name of ``variable`` of the cube file ``path``."""
    return f'NETCDF:"{path}":{variable}' if driver == "netCDF" else f'ZARR:"{path}":/{variable}'


def _open_multidim(driver, path):
    try:
        ds = gdal.OpenEx(path, gdal.OF_MULTIDIM_RASTER | gdal.OF_READONLY, allowed_drivers=[driver])
    except RuntimeError as err:
        raise ValueError(f"GDAL cannot open '{path}' as a {driver} cube: {str(err).strip()}") from None
    if ds is None:
        raise ValueError(f"GDAL cannot open '{path}' as a {driver} cube")
    return ds


def _attr(array, name, default=None):
    """Attribute ``name`` of a GDAL MDArray (a string, number or list), or ``default``."""
    try:
        attr = array.GetAttribute(name)
    except RuntimeError:
        return default
    if attr is None:
        return default
    try:
        return attr.Read()
    except RuntimeError:
        return default


def _dims(array):
    return [d.GetName() for d in array.GetDimensions()]


def _units(array):
    """The units attribute of ``array`` (GDAL's Zarr driver gives it as the array's unit, not an attribute)."""
    units = _attr(array, "units")
    if units is None:
        try:
            units = array.GetUnit() or None
        except RuntimeError:
            units = None
    return units


def _time_units(array):
    units = _units(array)
    return units if isinstance(units, str) and _SINCE.match(units) else None


def _is_time_dim(group, dim):
    """Whether dimension ``dim`` (a GDAL Dimension) is a time axis: its name, its type or its coordinate's units."""
    if dim.GetName().lower() in TIME_NAMES or (dim.GetType() or "").upper() == "TEMPORAL":
        return True
    coord = _coordinate(group, dim)
    return coord is not None and _time_units(coord) is not None


def _coordinate(group, dim):
    """The coordinate variable of ``dim`` (its indexing variable, or the 1-D variable of the same name), or None."""
    try:
        var = dim.GetIndexingVariable()
    except RuntimeError:
        var = None
    if var is None and dim.GetName() in (group.GetMDArrayNames() or []):
        var = group.OpenMDArray(dim.GetName())
    if var is not None and var.GetDimensionCount() != 1:
        return None
    return var


def _data_variables(group):
    """``{name: has a time dimension}`` of the variables that could be rasters (two dimensions or more, not a
    coordinate)."""
    out = {}
    for name in group.GetMDArrayNames() or []:
        arr = group.OpenMDArray(name)
        dims = arr.GetDimensions()
        if len(dims) < 2 or name in [d.GetName() for d in dims]:
            continue
        out[name] = any(_is_time_dim(group, d) for d in dims)
    return out


def cube_variables(value):
    """GDAL names of the variables on a time dimension of the cube file ``value`` (or of the file of a named
    variable): the choices a user has."""
    parsed = parse_name(value)
    if parsed is None:
        return []
    driver, path, _ = parsed
    group = _open_multidim(driver, path).GetRootGroup()
    return [variable_name(driver, path, n) for n, timed in _data_variables(group).items() if timed]


def parse_time_units(units, calendar=None, *, label="the time coordinate"):
    """``(seconds per unit, epoch as numpy.datetime64[s])`` of CF time units ``"<unit> since <epoch>"``.

    Raises ``ValueError`` for another form, an unknown unit or a calendar other than :data:`CALENDARS` (a 360-day
    or no-leap calendar has dates no satellite saw: convert the time axis to the standard calendar first).
    """
    cal = str(calendar or "").strip().lower()
    if cal not in CALENDARS:
        raise ValueError(f"{label} uses the calendar '{calendar}'; SARSense reads the standard (Gregorian) calendar "
                         "only, in which satellites acquire. Convert the time axis to the standard calendar first "
                         "(xarray: ds.convert_calendar('standard'); CDO: cdo setcalendar,standard)")
    m = _SINCE.match(str(units or ""))
    if not m:
        raise ValueError(f"{label} has units '{units}', not CF's '<unit> since <date>' (e.g. 'days since "
                         "1970-01-01'): its values cannot be read as dates. Set its units attribute")
    unit = m.group("unit").lower()
    if unit not in TIME_UNITS:
        raise ValueError(f"{label} counts in '{m.group('unit')}'; SARSense reads seconds, minutes, hours or days "
                         "(months and years have no fixed length). Convert the time axis first")
    e = _EPOCH.match(m.group("epoch"))
    if not e:
        raise ValueError(f"{label} has the reference date '{m.group('epoch')}', which is not a CF date "
                         "(e.g. 1970-01-01 or 1970-01-01 00:00:00)")
    parts = [int(g) if g else 0 for g in e.groups()]
    try:
        epoch = np.datetime64(_dt.datetime(*parts), "s")
    except ValueError as err:
        raise ValueError(f"{label} has the reference date '{m.group('epoch')}': {err}") from None
    return TIME_UNITS[unit], epoch


def decode_times(values, units, calendar=None, *, label="the time coordinate"):
    """numpy.datetime64[s] (UTC, rounded to the second) of CF time ``values`` in ``units``."""
    per_unit, epoch = parse_time_units(units, calendar, label=label)
    vals = np.asarray(values, dtype=np.float64)
    if not np.isfinite(vals).all():
        raise ValueError(f"{label} holds a missing time (NaN or fill): every time step needs its time")
    seconds = np.round(vals * per_unit).astype(np.int64)
    return tuple(epoch + np.timedelta64(int(s), "s") for s in seconds)


def _regular(coord, name, label):
    """``(first centre, step)`` of a regular 1-D coordinate; refuses an irregular one, saying where."""
    c = np.asarray(coord, dtype=np.float64)
    if c.size < 2:
        raise ValueError(f"{label}: the {name} coordinate has {c.size} value; a grid needs at least two to give "
                         "the pixel size")
    if not np.isfinite(c).all():
        raise ValueError(f"{label}: the {name} coordinate holds missing values (NaN); every column and row needs "
                         "its coordinate")
    step = (c[-1] - c[0]) / (c.size - 1)
    if step == 0:
        raise ValueError(f"{label}: the {name} coordinate does not change ({c[0]:g} throughout)")
    off = np.abs(c - (c[0] + step * np.arange(c.size)))
    worst = int(np.argmax(off))
    if off[worst] > REGULAR_TOLERANCE * abs(step):
        steps = np.diff(c)
        raise ValueError(f"{label}: the {name} coordinate is not regularly spaced (steps from {steps.min():g} to "
                         f"{steps.max():g}; value {worst} is {c[worst]:g}, {off[worst]:g} off the regular grid), so "
                         "it has no geotransform. Resample the cube onto a regular grid first (xarray: "
                         "ds.interp; gdalwarp of each date)")
    return float(c[0]), float(step)


def _srs_from_attributes(array):
    for key in ("crs_wkt", "spatial_ref"):
        text = _attr(array, key)
        if isinstance(text, str) and text.strip():
            srs = osr.SpatialReference()
            try:
                srs.SetFromUserInput(text)
                return srs.ExportToWkt()
            except RuntimeError:
                continue
    code = _attr(array, "epsg_code")
    if code not in (None, ""):
        srs = osr.SpatialReference()
        try:
            srs.SetFromUserInput(code if isinstance(code, str) and ":" in code else f"EPSG:{int(code)}")
            return srs.ExportToWkt()
        except (RuntimeError, ValueError, TypeError):
            return ""
    return ""


def _projection(group, array, x_coord, label, gdal_wkt=""):
    """WKT of the cube's CRS: its grid_mapping variable, a crs/spatial_ref variable, the variable's own (GDAL's
    multidimensional reading), GDAL's raster reading (``gdal_wkt``), or WGS 84 for lon/lat coordinates in degrees;
    refuses a cube with none."""
    names = group.GetMDArrayNames() or []
    mapping = _attr(array, "grid_mapping")
    candidates = ([mapping.split(":")[0].strip()] if isinstance(mapping, str) and mapping.strip() else []) + \
        [n for n in ("crs", "spatial_ref", "spatial_ref_sys", "transverse_mercator") if n in names]
    for name in candidates:
        if name in names:
            wkt = _srs_from_attributes(group.OpenMDArray(name))
            if wkt:
                return wkt
    try:
        srs = array.GetSpatialRef()
    except RuntimeError:
        srs = None
    if srs is not None:
        return srs.ExportToWkt()
    if gdal_wkt:
        return gdal_wkt
    units = str(_units(x_coord) or "").lower() if x_coord is not None else ""
    if units.startswith("degree"):
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(4326)
        return srs.ExportToWkt()
    raise ValueError(f"{label} has no coordinate reference system (no grid_mapping, crs or spatial_ref variable, "
                     f"and x/y not in degrees): its pixels cannot be placed on a map. Fix: {ASSIGN_CRS}")


def _per_time_metadata(group, time_dim, n):
    """Band metadata of every time step from the per-time variables (:data:`PER_TIME_KEYS`)."""
    metas = [{} for _ in range(n)]
    for name in group.GetMDArrayNames() or []:
        key = PER_TIME_KEYS.get(re.sub(r"^(sat|s1|sar):", "", name.lower()))
        if key is None:
            continue
        arr = group.OpenMDArray(name)
        if _dims(arr) != [time_dim]:
            continue
        try:
            values = arr.Read() if arr.GetDataType().GetClass() == gdal.GEDTC_STRING else arr.ReadAsArray()
        except RuntimeError:
            continue
        for meta, v in zip(metas, list(values)):
            text = _metadata_value(key, v)
            if text:
                meta[key] = text
    return metas


def _metadata_value(key, value):
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if key == "RELATIVE_ORBIT":
        try:
            return str(int(round(float(value))))
        except (TypeError, ValueError):
            return str(value).strip()
    text = str(value).strip()
    if key == "ORBIT_PASS":
        return text.upper()
    m = re.match(r"^(?:sentinel-?)?(1)([a-d])$", text.lower().replace("_", "-").replace("s1", "1"))
    return f"S1{m.group(2).upper()}" if m else text


def _classic(cube_driver, path, variable, n_times):
    """GDAL's classic (2-D) reading of the variable: ``(source names, band numbers, dataset of the first)``.

    netCDF: one dataset, one band per time step, read with IGNORE_XY_AXIS_NAME_CHECKS (x/y without CF attributes).
    Zarr (GDAL 3.6 reads a 3-D array one 2-D slice at a time): one slice per time step, band 1 each.
    """
    if cube_driver == "netCDF":
        name = variable_name("netCDF", path, variable)
        ds = gdal.OpenEx(name, gdal.OF_RASTER | gdal.OF_READONLY, open_options=["IGNORE_XY_AXIS_NAME_CHECKS=YES"])
        if ds.RasterCount != n_times:
            raise ValueError(f"GDAL reads '{name}' as {ds.RasterCount} bands for {n_times} time steps: the time "
                             "dimension must be the variable's first, before y and x")
        return [name] * n_times, list(range(1, n_times + 1)), ds
    names = [f'ZARR:"{path}":/{variable}:{k}' for k in range(n_times)]
    return names, [1] * n_times, gdal.OpenEx(names[0], gdal.OF_RASTER | gdal.OF_READONLY)


def _grid(group, dims, ds, driver, label):
    """``(north-up geotransform, whether GDAL's rows run north to south, x coordinate or None)`` of a (time, y, x)
    variable: from its x/y coordinate variables (cell centres, regular spacing), or GDAL's geotransform where the
    cube has none (2-D lon/lat beside projected x/y dimensions); refused when neither gives one."""
    y_coord, x_coord = _coordinate(group, dims[1]), _coordinate(group, dims[2])
    gdal_gt = ds.GetGeoTransform(can_return_null=True)
    if y_coord is None or x_coord is None:
        if gdal_gt is None or gdal_gt[2] or gdal_gt[4]:
            what = "y" if y_coord is None else "x"
            raise ValueError(f"{label}: its {what} dimension '{dims[1 if y_coord is None else 2].GetName()}' has no "
                             "coordinate variable, so its pixels have no position. Add the x/y (or lon/lat) "
                             "coordinates of the cell centres")
        ny = ds.RasterYSize
        north_up = gdal_gt if gdal_gt[5] < 0 else \
            (gdal_gt[0], gdal_gt[1], 0.0, gdal_gt[3] + gdal_gt[5] * ny, 0.0, -gdal_gt[5])
        return tuple(north_up), gdal_gt[5] < 0, x_coord
    x0, dx = _regular(x_coord.ReadAsArray(), f"x ('{x_coord.GetName()}')", label)
    y0, dy = _regular(y_coord.ReadAsArray(), f"y ('{y_coord.GetName()}')", label)
    if dx < 0:
        raise ValueError(f"{label}: its x coordinate decreases (east to west); reverse it first (xarray: "
                         "ds.sortby('x'))")
    ny = int(dims[1].GetSize())
    top = max(y0, y0 + dy * (ny - 1)) + abs(dy) / 2
    geotransform = (x0 - dx / 2, dx, 0.0, top, 0.0, -abs(dy))
    if gdal_gt is not None:
        north_up_rows = gdal_gt[5] < 0
    else:       # netCDF without a geotransform reads rows bottom-up; Zarr in storage order
        north_up_rows = (dy < 0) != (driver == "netCDF")
    return geotransform, north_up_rows, x_coord


def open_cube(value):
    """The :class:`Cube` that ``value`` names (``NETCDF:"f.nc":VV``, ``ZARR:"f.zarr":/VV``, or a cube file with one
    variable on a time dimension); reads metadata and coordinates only.

    Raises ``ValueError`` saying what to do for: a file with several variables on a time dimension (listing the
    names to give), none, a variable without a time dimension, time units or a calendar that cannot be read,
    x/y coordinates missing or irregular, no CRS anywhere, dimensions other than (time, y, x).
    """
    parsed = parse_name(value)
    if parsed is None:
        raise ValueError(f"'{value}' names no NetCDF or Zarr cube (NETCDF:\"cube.nc\":VV, ZARR:\"cube.zarr\":/VV or "
                         "a .nc/.zarr file)")
    driver, path, variable = parsed
    if not os.path.exists(path):
        raise ValueError(f"the cube '{path}' does not exist")
    try:
        group = _open_multidim(driver, path).GetRootGroup()
    except ValueError as err:
        raise (NotACubeError if variable is None else ValueError)(str(err)) from None
    candidates = _data_variables(group)
    if variable is None:
        timed = [n for n, t in candidates.items() if t]
        if len(timed) != 1:
            if not timed:
                raise NotACubeError(f"'{path}' holds no variable on a time dimension (a dimension named "
                                 f"{'/'.join(TIME_NAMES[:4])}, or a coordinate with CF units '<unit> since <date>'); "
                                 f"its variables: {', '.join(candidates) or 'none'}")
            choices = ", ".join(variable_name(driver, path, n) for n in timed)
            raise ValueError(f"'{path}' holds {len(timed)} variables on a time dimension; name the one to read: "
                             f"{choices}")
        variable = timed[0]
    label = f"the cube variable '{variable_name(driver, path, variable)}'"
    if variable not in (group.GetMDArrayNames() or []):
        raise ValueError(f"'{path}' has no variable '{variable}'; its variables on a time dimension: "
                         f"{', '.join(n for n, t in candidates.items() if t) or 'none'}")
    array = group.OpenMDArray(variable)
    dims = array.GetDimensions()
    dim_names = [d.GetName() for d in dims]
    timed = [i for i, d in enumerate(dims) if _is_time_dim(group, d)]
    if not timed:
        kind = NotACubeError if len(dims) == 2 else ValueError
        raise kind(f"{label} has no time dimension (its dimensions: {', '.join(dim_names)}); a dated stack "
                         f"needs one named {'/'.join(TIME_NAMES[:4])}, or a coordinate with CF units '<unit> since "
                         "<date>' (e.g. 'days since 1970-01-01')")
    if len(dims) != 3 or timed != [0]:
        raise ValueError(f"{label} has the dimensions ({', '.join(dim_names)}); SARSense reads (time, y, x). "
                         "Reorder them first (xarray: ds.transpose('t', 'y', 'x'); NCO: ncpdq -a t,y,x)")
    time_coord = _coordinate(group, dims[0])
    if time_coord is None:
        raise ValueError(f"{label}: its time dimension '{dim_names[0]}' has no coordinate variable, so its dates "
                         "are unknown. Add the time coordinate with CF units (e.g. 'days since 1970-01-01')")
    tlabel = f"the time coordinate '{time_coord.GetName()}' of {label}"
    times = decode_times(time_coord.ReadAsArray(), _units(time_coord), _attr(time_coord, "calendar"),
                         label=tlabel)
    try:
        names, bands, ds = _classic(driver, path, variable, len(times))
    except RuntimeError as err:
        raise ValueError(f"GDAL cannot read {label} as a raster: {str(err).strip()}") from None
    geotransform, north_up_rows, x_coord = _grid(group, dims, ds, driver, label)
    projection = _projection(group, array, x_coord, label, ds.GetProjection())
    band = ds.GetRasterBand(1)
    scale, offset = band.GetScale(), band.GetOffset()
    nodata = band.GetNoDataValue()
    per_time = _per_time_metadata(group, dim_names[0], len(times))
    return Cube(name=variable_name(driver, path, variable), path=path, variable=variable, driver=driver,
                times=times, xsize=ds.RasterXSize, ysize=ds.RasterYSize, geotransform=geotransform,
                projection=projection, dtype=gdal.GetDataTypeName(band.DataType),
                scale=None if scale in (None, 1.0) and offset in (None, 0.0) else scale,
                offset=None if scale in (None, 1.0) and offset in (None, 0.0) else offset,
                nodata=nodata, flipped=not north_up_rows,
                band_metadata=tuple(per_time), sources=tuple(zip(names, bands)),
                units="dB" if str(_units(array) or "").strip().lower() in ("db", "decibel", "decibels") else "")


def as_cube(value):
    """The :class:`Cube` of ``value`` (:func:`open_cube`), or None when ``value`` names no cube: not a NetCDF/Zarr
    name or file, a file with no variable on a time dimension, a 2-D variable (read as any raster). A cube that
    cannot be read as a dated stack is refused (``ValueError``, saying what to do)."""
    if not is_cube(value):
        return None
    try:
        return open_cube(value)
    except NotACubeError:
        return None


def _number(value):
    return "nan" if value is not None and np.isnan(value) else repr(float(value))


def _band_xml(cube, k):
    """One VRT band: its description, metadata, fill, scale/offset and its source."""
    when = str(cube.times[k])
    items = {"DATE": when, "ACQUISITION_START_TIME": when, "SOURCE_CUBE": cube.name,
             **cube.band_metadata[k]}
    if cube.variable.upper() in ("VV", "VH", "HH", "HV"):
        items.setdefault("POLARISATION", cube.variable.upper())
    if cube.units:
        items["units"] = cube.units
    mdi = "".join(f'<MDI key="{escape(key)}">{escape(str(v))}</MDI>' for key, v in items.items())
    parts = [f'<VRTRasterBand dataType="{cube.dtype}" band="{k + 1}">',
             f"<Description>{when[:10]}</Description>", f"<Metadata>{mdi}</Metadata>"]
    if cube.nodata is not None:
        parts.append(f"<NoDataValue>{_number(cube.nodata)}</NoDataValue>")
    if cube.scale is not None:
        parts.append(f"<Scale>{_number(cube.scale)}</Scale>")
    if cube.offset is not None:
        parts.append(f"<Offset>{_number(cube.offset)}</Offset>")
    options = ('<OpenOptions><OOI key="IGNORE_XY_AXIS_NAME_CHECKS">YES</OOI></OpenOptions>'
               if cube.driver == "netCDF" else "")
    rect = f'xOff="0" yOff="0" xSize="{cube.xsize}" ySize="{cube.ysize}"'
    source, number = cube.sources[k]
    parts.append(f'<SimpleSource><SourceFilename relativeToVRT="0">{escape(source)}</SourceFilename>'
                 f'{options}<SourceBand>{number}</SourceBand><SrcRect {rect}/><DstRect {rect}/>'
                 "</SimpleSource></VRTRasterBand>")
    return "".join(parts)


def _vrt_xml(cube, geotransform):
    srs = escape(cube.projection)
    gt = ", ".join(repr(float(v)) for v in geotransform)
    bands = "".join(_band_xml(cube, k) for k in range(len(cube.times)))
    return (f'<VRTDataset rasterXSize="{cube.xsize}" rasterYSize="{cube.ysize}">'
            f'<SRS dataAxisToSRSAxisMapping="1,2">{srs}</SRS><GeoTransform>{gt}</GeoTransform>'
            f'<Metadata><MDI key="SOURCE_CUBE">{escape(cube.name)}</MDI></Metadata>{bands}</VRTDataset>')


def cube_stack(value, *, folder=None):
    """A dated stack of the cube variable ``value`` (:func:`open_cube`): the path of a VRT, one band per time step.

    The VRT is written in a fresh folder under ``/vsimem/`` (default; GDAL readers of this process, on any
    thread, open it; free it with :func:`release`), or in ``folder`` (a real folder, for readers of another
    process). Rows come out north-up: a cube whose rows GDAL reads south to north is read through a warped VRT
    (nearest neighbour, the same grid flipped, no value changed). Returns the VRT's path.
    """
    cube = value if isinstance(value, Cube) else open_cube(value)
    home = folder or f"{VSI_ROOT}-{uuid.uuid4().hex[:12]}"
    if folder:
        os.makedirs(folder, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{os.path.splitext(os.path.basename(cube.path))[0]}_{cube.variable}")
    out = f"{home}/{stem}.vrt"
    if not cube.flipped:
        _write_text(out, _vrt_xml(cube, cube.geotransform))
        return out
    gt = cube.geotransform
    south_up = (gt[0], gt[1], 0.0, gt[3] + gt[5] * cube.ysize, 0.0, -gt[5])
    raw = f"{home}/{stem}.rows-south-up.vrt"
    _write_text(raw, _vrt_xml(cube, south_up))
    bounds = (gt[0], gt[3] + gt[5] * cube.ysize, gt[0] + gt[1] * cube.xsize, gt[3])
    warped = gdal.Warp(out, raw, format="VRT", outputBounds=bounds, width=cube.xsize, height=cube.ysize,
                       resampleAlg="near")      # nodata from the source (GDAL passes it on exactly)
    source = gdal.Open(raw)
    for k in range(len(cube.times)):
        src, band = source.GetRasterBand(k + 1), warped.GetRasterBand(k + 1)
        band.SetDescription(src.GetDescription())
        band.SetMetadata(src.GetMetadata())
        if cube.scale is not None:
            band.SetScale(cube.scale)
        if cube.offset is not None:
            band.SetOffset(cube.offset)
    warped.SetMetadata({"SOURCE_CUBE": cube.name})
    src = band = source = warped = None     # bands before their datasets; closing writes the VRT
    return out


def _write_text(path, text):
    if path.startswith("/vsimem/"):
        gdal.FileFromMemBuffer(path, text.encode("utf-8"))
    else:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)


def is_virtual(path):
    """Whether ``path`` is a stack :func:`cube_stack` wrote under ``/vsimem/``."""
    return str(path).startswith(VSI_ROOT + "-")


def release(path):
    """Free a stack :func:`cube_stack` wrote under ``/vsimem/`` (its folder, with the companion files)."""
    if is_virtual(path):
        folder = str(path).rsplit("/", 1)[0]
        for name in gdal.ReadDir(folder) or []:
            gdal.Unlink(f"{folder}/{name}")
