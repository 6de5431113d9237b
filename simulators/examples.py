"""Example data for every suite, small and documented: what ``sarsense:exampledata`` writes (no QGIS here).

Each suite's inputs go into a folder of their own under the folder the user picks, with a ``README.txt`` that
says what each file is, where it comes from (real data with its source and licence, or the simulator that made
it) and which algorithm to run next; the Getting-started pages (``docs/getting_started_*.md``) walk through
them. Real data is used where ``resources/sample_data`` has it (its ``ATTRIBUTION.md``); everything else is made
by this package's simulators, and its file and layer names say "simulated". Seeds are fixed: the same call
writes the same numbers. Each suite takes a few seconds and at most a few MB.

| suite | folder | what |
|---|---|---|
| ``grd`` | ``sentinel1_grd_simulated`` | six simulated Sentinel-1 IW GRDH products (zips), 12 days apart |
| ``soil_moisture`` | ``soil_moisture_simulated_s1_raam`` | simulated VV/VH/NDVI stacks over the real Raam stations |
| ``rice`` | ``rice_simulated`` | a simulated VH series (17 dates), reference parcels and points, water |
| ``lst`` | ``lst_modis_landsat_real`` | a window of a real MOD11A1 LST tile and a real Landsat-7 scene |
| ``sea_ice`` | ``sea_ice_simulated`` | a simulated EW HH/HV scene, its SIGRID-3 ice chart and land |
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass

import numpy as np

from sarsense.algorithms.io import Cancelled

from . import SAMPLE_DATA

#: Suite keys, in the order of the algorithm's SUITE choice, with the choice's label and the folder written.
SUITES = ("grd", "soil_moisture", "rice", "lst", "sea_ice")
LABELS = {"grd": "Sentinel-1 GRD product",
          "soil_moisture": "Soil moisture: Sentinel-1 series + stations",
          "rice": "Rice: VH series + reference polygons",
          "lst": "LST: MODIS tile + Landsat",
          "sea_ice": "Sea ice: HH/HV scene + ice chart"}
FOLDERS = {"grd": "sentinel1_grd_simulated", "soil_moisture": "soil_moisture_simulated_s1_raam",
           "rice": "rice_simulated", "lst": "lst_modis_landsat_real", "sea_ice": "sea_ice_simulated"}
#: The first line of every README written here: a folder that starts so may be replaced by a new run.
MARK = "SARSense example data"
#: The GRD series: 12-day repeat cycles after the real product of 2021-04-01, and the wetting of each (dB).
GRD_CYCLES = (0, 1, 2, 3, 4, 5)
GRD_WETTING_DB = (0.0, 3.0, 1.0, 4.0, 0.5, 2.0)
#: The LST window of the h14v09 tile (first row, first column, size): inland Pernambuco, partly cloudy.
LST_WINDOW = (896, 440, 96)
LST_FILE = "MOD11A1.A2019305.h14v09.006.2019306084028.hdf"
SEA_ICE_SEED, SEA_ICE_SHAPE = 14, (512, 512)   # seed 14: a coast (13 % land) and every kind of ice
RICE_SEED, RICE_SIZE = 0, 150
SM_PIXEL_M = 200.0


@dataclass
class Item:
    """One file written: its name in the folder, the layer name to load it under (None: not a layer), what it
    is, and its source (real data and licence, or the simulator)."""

    name: str
    layer: str | None
    what: str
    source: str
    #: How the layer is drawn on load: "db" (grey stretch), "ndvi", "incidence", "lst" (ramps), None (QGIS's own).
    style: str | None = None


def folder_for(output_folder, suite):
    """The folder ``suite``'s data goes to under ``output_folder``."""
    return os.path.join(str(output_folder), FOLDERS[suite])


def check_output_folder(output_folder, suite):
    """Raise ValueError, saying what to do, when ``suite``'s data cannot be written under ``output_folder``."""
    if not str(output_folder or "").strip():
        raise ValueError("no output folder given: choose a folder to write the example data to")
    path = os.path.abspath(str(output_folder))
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"'{path}' is a file, not a folder: choose a folder (it is created if missing)")
    parent = path
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise ValueError(f"'{parent}' is a file, so no folder can be made inside it: choose another folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"'{parent}' cannot be written to (no permission): choose a folder of your own")
    target = folder_for(path, suite)
    if os.path.exists(target):
        readme = os.path.join(target, "README.txt")
        first = ""
        if os.path.isfile(readme):
            with open(readme, encoding="utf-8") as fh:
                first = fh.readline()
        if not first.startswith(MARK):
            raise ValueError(f"'{target}' exists and was not written by Example data: move it away or choose "
                             "another folder (an earlier example folder is replaced)")
    return target


def write_example(suite, output_folder, *, is_canceled=None, progress=None):
    """Write ``suite``'s example data into its folder under ``output_folder``; return ``(folder, items)``.

    Everything is written into a hidden temporary folder beside the target and moved into place at the end, so a
    cancel (``is_canceled`` true between files: :class:`Cancelled`) or an error leaves nothing behind; an earlier
    example folder of the same suite is replaced.
    """
    if suite not in SUITES:
        raise ValueError(f"unknown example suite {suite!r}; choose one of {', '.join(SUITES)}")
    target = check_output_folder(output_folder, suite)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    work = os.path.join(os.path.dirname(target), f".{FOLDERS[suite]}.partial-{uuid.uuid4().hex[:8]}")
    os.makedirs(work)

    def step(fraction):
        if is_canceled is not None and is_canceled():
            raise Cancelled()
        if progress is not None:
            progress(fraction)
    try:
        items, next_steps = _WRITERS[suite](work, step)
        step(0.95)
        write_readme(os.path.join(work, "README.txt"), suite, items, next_steps)
        try:
            if os.path.exists(target):
                shutil.rmtree(target)
            os.replace(work, target)
        except OSError as err:
            raise ValueError(f"'{target}' could not be replaced ({err.strerror}): remove its layers from the project "
                             "(Windows keeps open files locked) or choose another folder") from None
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if progress is not None:
        progress(1.0)
    return target, items


def write_readme(path, suite, items, next_steps):
    """The folder's README.txt: each file, its source or simulator, and what to run next."""
    lines = [f"{MARK}: {LABELS[suite]}", "", "Written by the SARSense algorithm 'Example data' (sarsense:exampledata) "
             "with fixed seeds: running it again writes the same data.", "",
             "Files", "-----"]
    for it in items:
        lines += [f"{it.name}", f"    {it.what}", f"    Source: {it.source}"]
        if it.layer:
            lines.append(f"    Loaded into the project as '{it.layer}'.")
        lines.append("")
    lines += ["What to run next", "----------------", *next_steps, "",
              "The Getting-started page of this suite walks through these steps in the QGIS window "
              "(Plugins > SARSense > SARSense help).", ""]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))


def layers(folder, items):
    """``[(path, layer name, style)]`` of the items that load as layers."""
    return [(os.path.join(folder, it.name), it.layer, it.style) for it in items if it.layer]


# -- Sentinel-1 GRD ----------------------------------------------------------------------------------------
def grd_dates():
    """The acquisition dates of the simulated GRD series (ISO)."""
    return [(_dt.date(2021, 4, 1) + _dt.timedelta(days=12 * k)).isoformat() for k in GRD_CYCLES]


def _wetting(amp_db):
    def extra(y, x):
        return amp_db * (0.55 + 0.45 * np.cos(x / 60.0) * np.cos(y / 80.0))
    return extra


def _write_grd(work, step):
    from . import s1_safe

    items = []
    tmp = tempfile.mkdtemp(dir=work)
    for k, (cycles, wet) in enumerate(zip(GRD_CYCLES, GRD_WETTING_DB)):
        step(k / len(GRD_CYCLES) * 0.9)
        res = s1_safe.write_grd(tmp, zip_it=True, seed=100 + k, keep_arrays=False, cycles=cycles,
                                extra_db=_wetting(wet))
        date = grd_dates()[k]
        name = f"simulated_{os.path.basename(res['zip'])}"
        os.replace(res["zip"], os.path.join(work, name))
        items.append(Item(name, None,
                          f"Sentinel-1B IW GRDH product, dual polarisation VV+VH, {date} 05:26 UTC, descending, "
                          f"330 x 240 samples (about 3.3 x 2.4 km) in the SAFE layout, zipped as ESA delivers it; "
                          f"backscatter wetted by {wet:g} dB (a rain pattern) on this date",
                          f"SIMULATED by simulators/s1_safe.py (seed {100 + k}): the real geometry and orbit of the "
                          "Sentinel-1B product of 2021-04-01 (xarray-sentinel test data, Apache-2.0), shifted by "
                          f"{cycles} repeat cycles of 12 days; synthetic DN of known sigma0"))
    shutil.rmtree(tmp)
    steps = ["1. SAR preparation > Import Sentinel-1 GRD (sarsense:importsentinel1) on each zip, Polarisations: VV "
             "(use 'Run as Batch Process...' for all six): a GeoTIFF per date, band 1 VV sigma0 (dB), band 2 the "
             "incidence angle.",
             "2. GDAL > Raster conversion > Rearrange bands (gdal:rearrange_bands), band 1 only, saved as "
             "vv_<date>.tif: the VV band with the date in the file name.",
             "3. SAR preparation > Build dated stack (sarsense:buildstack) on the six VV files.",
             "4. Soil moisture > Soil moisture by change detection (sarsense:changedetection) on the stack."]
    return items, steps


# -- Soil moisture: series + stations -------------------------------------------------------------------------
def _write_soil_moisture(work, step):
    from . import soil_moisture_s1

    step(0.05)
    scene = soil_moisture_s1.scene(os.path.join(work, "tmp"), pixel=SM_PIXEL_M, step_days=12, seed=0)
    step(0.8)
    names = {"VV": ("S1_VV_db_simulated.tif", "VV (dB, simulated)"),
             "VH": ("S1_VH_db_simulated.tif", "VH (dB, simulated)"),
             "NDVI": ("NDVI_simulated.tif", "NDVI (simulated)"),
             "theta": ("incidence_simulated.tif", "Incidence angle (degrees, simulated)")}
    dates = scene["dates"]
    sim = ("SIMULATED by simulators/soil_moisture_s1.py (seed 0): Oh (2004) bare-soil backscatter under the "
           "Water Cloud Model, driven by the real Raam daily soil moisture (each pixel its nearest station) and "
           "real MODIS MOD13A1 NDVI of 2016 transplanted from northern Italy; speckle of 30 looks")
    what = {"VV": f"Sentinel-1 VV backscatter (dB), dated stack of {len(dates)} dates {dates[0]} ... {dates[-1]} "
                  "(12-day repeat, 05:50 UTC), 200 m pixels, EPSG:32631, over the Raam network (NL)",
            "VH": "Sentinel-1 VH backscatter (dB), same dates and grid as VV",
            "NDVI": "NDVI on the same dates and grid",
            "theta": "Incidence angle (degrees), one band serving every date, 29-46 degrees west to east"}
    items = []
    for key, (name, layer) in names.items():
        os.replace(scene["paths"][key], os.path.join(work, name))
        items.append(Item(name, layer, what[key], sim, {"NDVI": "ndvi", "theta": "incidence"}.get(key, "db")))
    shutil.rmtree(os.path.join(work, "tmp"))
    raam = os.path.join(work, "raam_stations")
    os.makedirs(raam)
    for f in ("raam_daily_5cm.csv", "Raam_station_locations_WGS84.csv"):
        shutil.copy(SAMPLE_DATA / "soil_moisture_raam" / f, os.path.join(raam, f))
        items.append(Item(f"raam_stations/{f}", None,
                          "Daily 5 cm soil moisture (m3/m3) of the Raam stations, 2016-04-05 ... 2017-04-05 "
                          "(14 have a location)"
                          if f.startswith("raam") else "The Raam stations' longitude and latitude",
                          "REAL: Raam network, Benninga et al. (2018), ESSD 10:61-79, "
                          "doi:10.4121/uuid:2411bbb8-2161-4f31-985f-7b65b8448bc9 (cite the paper)"))
    steps = ["1. Soil moisture > Import in-situ soil moisture (sarsense:importismn) on the folder raam_stations: "
             "station points and their values.",
             "2. Soil moisture > Soil moisture by change detection (sarsense:changedetection) on S1_VV_db_simulated "
             "with Driest/Wettest soil moisture from the stations' driest and wettest values (0.003 / 0.519).",
             "3. Soil moisture > Extract raster values at stations (sarsense:extractstations) of the map, then "
             "Validate soil moisture against in situ (sarsense:validatemoisture).",
             "Every figure on this data is simulated skill, not real skill."]
    return items, steps


# -- Rice -----------------------------------------------------------------------------------------------------
def _write_rice(work, step):
    from . import rice_landscape as rl

    step(0.05)
    tmp = os.path.join(work, "tmp")
    sc = rl.write_scene(tmp, rows=RICE_SIZE, cols=RICE_SIZE, seed=RICE_SEED)
    step(0.8)
    sim = (f"SIMULATED by simulators/rice_landscape.py (seed {RICE_SEED}): 8 classes in field parcels, 12-day "
           "VH profiles after Liu et al. (2020), transplanting 10 March - 10 April, speckle ENL 4.4")
    items = []
    for k, d in enumerate(sc["dates"]):
        name = f"S1_VH_{d}_simulated.tif"
        os.replace(sc["paths"]["vh"][k], os.path.join(work, name))
        items.append(Item(name, f"VH {d} (dB, simulated)" if k in (0, 5, 8) else None,
                          f"Sentinel-1 VH backscatter (dB) of {d}, {RICE_SIZE} x {RICE_SIZE} pixels of 10 m, "
                          "EPSG:32649 (Hainan); the date is in the file name and the band description", sim, "db"))
    for key, name, layer, what in (
            ("training", "parcels_simulated.gpkg", "Reference parcels (simulated)",
             "Reference polygons: a quarter of the parcels, every class (fields class, code, rice = 1 or 0)"),
            ("reference", "reference_points_simulated.gpkg", "Reference points (simulated)",
             "600 reference points drawn at random off those parcels (fields class, code, rice = 1 or 0): the "
             "random sample the area estimate needs"),
            ("water", "water_simulated.gpkg", "Water (simulated)", "The lake: permanent water polygon"),
            ("truth", "truth_class_simulated.tif", None,
             "The simulation's true class of every pixel (1 early rice ... 8 other), for checking only")):
        os.replace(sc["paths"][key], os.path.join(work, name))
        items.append(Item(name, layer, what, sim))
    shutil.rmtree(tmp)
    steps = ["1. SAR preparation > Build dated stack (sarsense:buildstack) on the 17 S1_VH_*_simulated.tif files.",
             "2. SAR preparation > Despeckle SAR image (sarsense:despeckle), Gamma-MAP 5x5, ENL 4.4.",
             "3. Crop mapping > Water-normalised backscatter index (sarsense:waternormalized) with "
             "water_simulated as Water.",
             "4. Crop mapping > Paddy rice by phenology thresholds (sarsense:ricethreshold), season 2019-03-10 to "
             "2019-04-27, water date 2019-01-21.",
             "5. Crop mapping > Accuracy assessment and area estimate (sarsense:accuracyassessment) with "
             "reference_points_simulated, class field 'rice'.",
             "Every accuracy figure on this data is simulated skill, not real skill."]
    return items, steps


# -- LST ------------------------------------------------------------------------------------------------------
def _write_lst(work, step):
    from osgeo import gdal

    from sarsense.algorithms.lst import modis

    step(0.1)
    hdf = SAMPLE_DATA / "modis_lst" / LST_FILE
    sub = f'HDF4_EOS:EOS_GRID:"{hdf}":MODIS_Grid_Daily_1km_LST:LST_Day_1km'
    kelvin = modis.read_kelvin(sub)
    r0, c0, n = LST_WINDOW
    win = kelvin[r0:r0 + n, c0:c0 + n]
    src = gdal.Open(sub)
    gt = src.GetGeoTransform()
    name = "MOD11A1_2019-11-01_LST_Day_1km_window.tif"
    ds = gdal.GetDriverByName("GTiff").Create(os.path.join(work, name), n, n, 1, gdal.GDT_Float32,
                                              ["COMPRESS=DEFLATE"])
    ds.SetGeoTransform((gt[0] + c0 * gt[1], gt[1], 0.0, gt[3] + r0 * gt[5], 0.0, gt[5]))
    ds.SetProjection(src.GetProjection())
    band = ds.GetRasterBand(1)
    band.SetNoDataValue(float("nan"))
    band.SetDescription("2019-11-01")
    band.SetMetadataItem("DATE", "2019-11-01")
    band.SetMetadataItem("units", "K")
    band.WriteArray(win)
    band = None
    ds = None
    src = None
    step(0.6)
    valid = float(np.isfinite(win).mean())
    items = [Item(name, "LST day 2019-11-01 (K, MODIS, real)",
                  f"MODIS Terra daily land-surface temperature, day, in kelvin (float32, NaN = cloud or not good "
                  f"quality): rows {r0}-{r0 + n - 1}, columns {c0}-{c0 + n - 1} of tile h14v09 ({n} x {n} pixels "
                  f"of 926.6 m, MODIS sinusoidal projection), 2019-11-01, inland Pernambuco (Brazil); "
                  f"{100 * valid:.0f} % of the pixels valid",
                  f"REAL: MOD11A1 v006 ({LST_FILE}, bundled with the plugin in resources/sample_data/modis_lst), "
                  "scale 0.02 K applied, QC filter 'good quality' applied; NASA LP DAAC, free reuse; cite Wan, Hook "
                  "& Hulley (2015), doi:10.5067/MODIS/MOD11A1.006", "lst")]
    shutil.copy(SAMPLE_DATA / "landsat_olinda" / "L7_ETMs_olinda.tif", os.path.join(work, "L7_ETMs_olinda.tif"))
    items.append(Item("L7_ETMs_olinda.tif", "Landsat-7 ETM+ Olinda (real)",
                      "Landsat-7 ETM+ bands 1, 2, 3, 4, 5, 7 (Byte DN), 349 x 352 pixels of 28.5 m, EPSG:31985, "
                      "Olinda (Brazil), inside the same MODIS tile; red = band 3, NIR = band 4",
                      "REAL: R package stars test data (Apache-2.0); Landsat data courtesy of the U.S. Geological "
                      "Survey (public domain)"))
    steps = ["1. Land surface temperature > LST super-resolution (sarsense:lstsuperresolution) on the LST window, "
             "method U-Net: the same LST on a 4x finer grid (about 232 m).",
             "2. Optional: Soil moisture > NDVI (sarsense:ndvi) on L7_ETMs_olinda.tif, red band 3, NIR band 4: the "
             "fine NDVI that the TsHARP and ATPRK methods take, for an LST you have reprojected over Olinda.",
             f"The whole tile is in the plugin folder: resources/sample_data/modis_lst/{LST_FILE}."]
    return items, steps


# -- Sea ice --------------------------------------------------------------------------------------------------
def _write_sea_ice(work, step):
    from osgeo import ogr

    from . import sea_ice_scenes as si

    step(0.05)
    scene = si.simulate(SEA_ICE_SHAPE, seed=SEA_ICE_SEED)
    step(0.6)
    paths = si.write_scene(work, scene, name="EW_simulated")
    os.remove(paths["chart"])
    si.chart_polygons(os.path.join(work, "ice_chart_simulated.gpkg"), scene)
    step(0.8)
    # land polygons, for the chart's Land mask input
    src = ogr.Open(os.path.join(work, "ice_chart_simulated.gpkg"))
    lyr = src.GetLayer(0)
    lyr.SetAttributeFilter("POLY_TYPE = 'L'")
    out = ogr.GetDriverByName("GPKG").CreateDataSource(os.path.join(work, "land_simulated.gpkg"))
    dst = out.CreateLayer("land", lyr.GetSpatialRef(), ogr.wkbMultiPolygon)
    for feat in lyr:
        f = ogr.Feature(dst.GetLayerDefn())
        f.SetGeometry(feat.GetGeometryRef().Clone())
        dst.CreateFeature(f)
    out = None
    src = None
    rows, cols = SEA_ICE_SHAPE
    sim = (f"SIMULATED by simulators/sea_ice_scenes.py (seed {SEA_ICE_SEED}): EW geometry from a real EW1 "
           "annotation (xarray-sentinel test data, Apache-2.0), ice concentration texture from a real passive-"
           "microwave map (nansat test data, GPL-3.0), C-band backscatter of water, ice types and land, residual HV "
           "noise, speckle of 10 looks")
    items = [Item("EW_simulated_hh.tif", "HH (dB, simulated)",
                  f"Sentinel-1 EW HH backscatter (dB), {cols} x {rows} pixels of 40 m (about 20 km), EPSG:3413 "
                  "(polar stereographic north); no date (a simulated scene)", sim, "db"),
             Item("EW_simulated_hv.tif", "HV (dB, simulated)", "The same scene's HV backscatter (dB)", sim, "db"),
             Item("ice_chart_simulated.gpkg", "Ice chart (SIGRID-3, simulated)",
                  "The analyst's ice chart of the scene: polygons with the SIGRID-3 total concentration code CT "
                  "and POLY_TYPE (I ice, W water, L land)", sim),
             Item("land_simulated.gpkg", "Land (simulated)", "The chart's land polygons (POLY_TYPE L)", sim)]
    steps = ["1. Sea ice > Sea-ice concentration chart (U-Net) (sarsense:seaiceconcentration) with HH and HV, "
             "Land mask land_simulated: a SIC chart in 11 classes (0-100 %). The bundled model is a "
             "DEMONSTRATION trained on simulated scenes only.",
             "2. Sea ice > Ice chart to SIC classes (sarsense:icechartclasses) on ice_chart_simulated, grid of the "
             "chart from step 1.",
             "3. Sea ice > Sea-ice chart skill (R2, F1) (sarsense:seaiceskill): the U-Net chart against the "
             "analyst's."]
    return items, steps


_WRITERS = {"grd": _write_grd, "soil_moisture": _write_soil_moisture, "rice": _write_rice, "lst": _write_lst,
            "sea_ice": _write_sea_ice}
