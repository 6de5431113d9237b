"""Real ECOSTRESS LST scenes as super-resolution pairs (training only; GDAL + numpy).

The data: 15 ECOSTRESS L2 LST v002 scenes of the Los Angeles basin, June–August 2023, day and night
(MANIFEST.md of the shared data: UInt16, scale 0.02 K, nodata 0, 0.00063° geographic grid, not
cloud-masked). What is done with them, in order:

1. **A metric grid, as a user would**: each scene is warped with GDAL (``gdal.Warp``, bilinear, its
   declared scale applied first) to UTM zone 11N (EPSG:32611) at 70 m on one common grid
   (:data:`GRID_BOUNDS`), so that every scene's pixel (row, col) is the same ground.
2. **Day or night** from the local solar time of the overpass (the file name's UTC time + longitude / 15°):
   day between 06 and 18 h.
3. **Water**: the sea and large reservoirs carry sea-surface, not land-surface, temperature, and MODIS LST
   (the other training source) has no values there. Water is where the diurnal amplitude — the median of the
   *training* day scenes minus the median of the *training* night scenes — is below
   :data:`WATER_DIURNAL_K` (land in the basin in summer swings 15–30 K between afternoon and night, the sea
   2–4 K: Hulley & Hook's ECOSTRESS ATBD, and measured here: see :func:`screen`).
4. **Clouds** (cold outliers: cloud tops, MANIFEST.md): per scene, a land pixel colder than the scene's
   land median minus :data:`CLOUD_MAD_Z` robust standard deviations (1.4826 × the median absolute deviation)
   is cloud, and by day also any pixel below :data:`CLOUD_DAY_K`; the mask is grown by :data:`CLOUD_GROW`
   pixels (cloud edges and the thin cloud beside a detected top are warm-biased but still cloud). The
   fraction removed per scene is recorded (:func:`screen` → ``"clouds"``).
5. **Pairs by the paper's protocol at this scale** (Nguyen et al. 2022, §III.B.3): 70 m truth →
   Norm-L4 ×4 (280 m) → the network (whose first step is bicubic back to 70 m). Patches are 64×64 truth
   pixels of land, cloud-free.
6. **Split by scene and by space**: whole scenes (dates) go to the test part (:data:`TEST_SCENES`: two day
   scenes and one night scene, a seeded pick made before any training), the others to training; the ground is
   cut into :data:`BLOCK`-pixel blocks (patches keep :data:`BLOCK_MARGIN` px from a block's edge, so patches
   of different blocks never touch) dealt to test, validation and training in a seeded order. Training =
   training scenes × training blocks, validation (every choice: epoch, recipe) = training scenes ×
   validation blocks, test = test scenes × test blocks: the test's dates and ground are never seen.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from sarsense.algorithms.lst import temperature

from .paths import REPO

#: Where the 15 scenes are: ``$SARSENSE_ECOSTRESS`` or the shared data folder beside the checkout.
ECOSTRESS_DIR = Path(os.environ.get("SARSENSE_ECOSTRESS", REPO.parent / "shared" / "data" / "ecostress_la_2023"))
ECOSTRESS_SOURCE = ("NASA LP DAAC, ECOSTRESS ECO_L2_LSTE v002 (Hulley & Hook), Los Angeles basin, 15 scenes "
                    "2023-06-24 .. 2023-08-26, subset through AppEEARS (ECOSTRESS-Workshop-2024 tutorial data)")
#: The common metric grid: UTM 11N, 70 m (the scenes' own pixel north-south), inside every scene's footprint.
GRID_EPSG = 32611
GRID_RES = 70.0
GRID_BOUNDS = (343_000.0, 3_726_000.0, 450_520.0, 3_797_680.0)   # xmin, ymin, xmax, ymax: 1536 × 1024 px
SCALE = 4
PATCH = 64
#: Day: local solar time of the overpass between these hours.
DAY_HOURS = (6.0, 18.0)
#: Water: median training day minus median training night LST below this (K).
WATER_DIURNAL_K = 6.0
#: Clouds: land colder than median − Z·σ_MAD, by day also colder than CLOUD_DAY_K; grown by CLOUD_GROW px.
CLOUD_MAD_Z = 5.0
CLOUD_DAY_K = 270.0
CLOUD_GROW = 2
#: Spatial split: square blocks of the grid; patches keep BLOCK_MARGIN px from a block's edge.
BLOCK, BLOCK_MARGIN = 256, 8
#: Blocks dealt to the split: at least this fraction land (sea blocks hold no land patch).
BLOCK_LAND = 0.5
SPLIT_SEED = 20261206
#: Held-out whole scenes (day of year): two day scenes and one night scene, drawn with SPLIT_SEED
#: (:func:`draw_test_scenes`; a test checks the draw) before any training.
TEST_SCENES = (230, 226, 179)


@dataclass(frozen=True)
class Scene:
    path: Path
    doy: int
    utc_hours: float
    solar_hours: float

    @property
    def day(self):
        return DAY_HOURS[0] <= self.solar_hours < DAY_HOURS[1]

    @property
    def label(self):
        return f"2023-{self.doy:03d} {'day' if self.day else 'night'} ({self.solar_hours:04.1f} h solar)"


_NAME = re.compile(r"doy(\d{4})(\d{3})(\d{2})(\d{2})(\d{2})")


def scenes(folder=None):
    """The scenes of ``folder`` (default :data:`ECOSTRESS_DIR`), in time order."""
    folder = Path(folder or ECOSTRESS_DIR)
    paths = sorted(folder.glob("ECO_L2_LSTE.002_LST_doy*.tif"))
    if not paths:
        raise FileNotFoundError(f"no ECOSTRESS scenes in {folder}: set SARSENSE_ECOSTRESS to the folder of the "
                                "15 ECO_L2_LSTE.002_LST_doy*.tif files (the shared data's ecostress_la_2023)")
    out = []
    centre_lon = -118.118
    for p in paths:
        _, doy, h, m, s = (int(g) for g in _NAME.search(p.name).groups())
        utc = h + m / 60 + s / 3600
        out.append(Scene(p, doy, utc, (utc + centre_lon / 15.0) % 24))
    return out


def draw_test_scenes(all_scenes, seed=SPLIT_SEED):
    """Two day scenes and one night scene, a seeded draw (what :data:`TEST_SCENES` holds)."""
    rng = np.random.default_rng(seed)
    day = [s.doy for s in all_scenes if s.day]
    night = [s.doy for s in all_scenes if not s.day]
    return tuple(int(d) for d in rng.choice(day, 2, replace=False)) + (int(rng.choice(night)),)


#: gdalwarp's resampling scale ratios, fixed (``-wo XSCALE=0.832 -wo YSCALE=1``) with an exact transformer
#: (``-et 0``): the ratios GDAL computes for this grid (a 58 m east-west source pixel at 34° N onto 70 m; 70 m
#: north-south, not widened), held constant so that every chunk of a warp — and a crop of a scene warped on its own
#: (the held-out crops in resources/) — gets the same values. Left to GDAL, they vary per chunk by up to 0.25 K.
WARP_OPTIONS = ("XSCALE=0.832", "YSCALE=1")


def warp_kelvin(source, output, bounds):
    """``source`` (an ECOSTRESS GeoTIFF or a crop of one) in kelvin on the UTM 11N 70 m grid within ``bounds``: its
    scale applied (gdal.Translate -unscale -ot Float32), then gdalwarp -t_srs EPSG:32611 -tr 70 70 -r bilinear
    -te <bounds> -et 0 with :data:`WARP_OPTIONS`; float32 GeoTIFF, NaN nodata."""
    from osgeo import gdal

    vrt = f"/vsimem/eco_{Path(output).stem}.vrt"
    gdal.Translate(vrt, str(source), format="VRT", unscale=True, outputType=gdal.GDT_Float32, noData=0)
    gdal.Warp(str(output) + ".part", vrt, format="GTiff", dstSRS=f"EPSG:{GRID_EPSG}", xRes=GRID_RES, yRes=GRID_RES,
              outputBounds=bounds, resampleAlg="bilinear", dstNodata=float("nan"), outputType=gdal.GDT_Float32,
              errorThreshold=0, warpOptions=list(WARP_OPTIONS),
              creationOptions=["COMPRESS=DEFLATE", "PREDICTOR=3", "TILED=YES"])
    gdal.Unlink(vrt)
    os.replace(str(output) + ".part", output)
    return Path(output)


def warp(scene, folder):
    """The whole scene on the common grid (:data:`GRID_BOUNDS`, :func:`warp_kelvin`), cached in ``folder``."""
    out = Path(folder) / f"eco_{scene.doy:03d}_utm70.tif"
    if not out.exists():
        Path(folder).mkdir(parents=True, exist_ok=True)
        warp_kelvin(scene.path, out, GRID_BOUNDS)
    return out


def block_bounds(by, bx):
    """(xmin, ymin, xmax, ymax) of the grid block whose top-left pixel is (row ``by``, column ``bx``)."""
    x0 = GRID_BOUNDS[0] + bx * GRID_RES
    y1 = GRID_BOUNDS[3] - by * GRID_RES
    return (x0, y1 - BLOCK * GRID_RES, x0 + BLOCK * GRID_RES, y1)


def read_kelvin(path):
    from osgeo import gdal

    ds = gdal.Open(str(path))
    a = ds.GetRasterBand(1).ReadAsArray().astype(np.float32)
    del ds
    a[(a <= 0) | ~np.isfinite(a)] = np.nan       # the nodata 0 warped into the edge pixels is never LST
    return a


def water_mask(fields, train_doys):
    """Water: median of the training day scenes minus median of the training night scenes < WATER_DIURNAL_K."""
    day = [f for s, f in fields if s.doy in train_doys and s.day]
    night = [f for s, f in fields if s.doy in train_doys and not s.day]
    with np.errstate(all="ignore"):
        amp = np.nanmedian(np.stack(day), 0) - np.nanmedian(np.stack(night), 0)
    return ~(amp >= WATER_DIURNAL_K), amp


def cloud_mask(kelvin, land, day):
    """Cold outliers of one scene (cloud tops), grown by CLOUD_GROW px; see the module's step 4."""
    v = kelvin[land & np.isfinite(kelvin)]
    med = float(np.median(v))
    sigma = 1.4826 * float(np.median(np.abs(v - med)))
    with np.errstate(invalid="ignore"):
        cold = kelvin < med - CLOUD_MAD_Z * sigma
        if day:
            cold |= kelvin < CLOUD_DAY_K
    # grown by the 4-neighbourhood, CLOUD_GROW times
    return ndimage.binary_dilation(cold, iterations=CLOUD_GROW), {"median_k": round(med, 2), "sigma_k": round(sigma, 2),
                                     "threshold_k": round(max(med - CLOUD_MAD_Z * sigma,
                                                              CLOUD_DAY_K if day else -np.inf), 2)}


def blocks(land, seed=SPLIT_SEED, fractions=(0.2, 0.2)):
    """{(by, bx): "test" | "val" | "train"} for the BLOCK-pixel blocks of the grid that are at least
    :data:`BLOCK_LAND` land (``land``: the grid's land mask), dealt in a seeded order (test and validation each
    take ``fractions`` of them, rounded)."""
    shape = land.shape
    keys = [(by, bx) for by in range(0, shape[0] - BLOCK + 1, BLOCK) for bx in range(0, shape[1] - BLOCK + 1, BLOCK)
            if land[by:by + BLOCK, bx:bx + BLOCK].mean() >= BLOCK_LAND]
    order = np.random.default_rng(seed).permutation(len(keys))
    n_test, n_val = (int(round(f * len(keys))) for f in fractions)
    part = {}
    for rank, i in enumerate(order):
        part[keys[i]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return part


def screen(folder, workdir):
    """Warp, classify and screen every scene; the masks and what they removed.

    Returns ``{"scenes": [Scene], "fields": {doy: kelvin with NaN where water, cloud or no data},
    "water": mask, "report": [{doy, label, valid, clouds, usable}], "test_doys", "train_doys"}``.
    """
    all_scenes = scenes(folder)
    raw = [(s, read_kelvin(warp(s, workdir))) for s in all_scenes]
    test_doys = set(TEST_SCENES)
    train_doys = {s.doy for s in all_scenes} - test_doys
    water, amp = water_mask(raw, train_doys)
    land = ~water
    fields, report = {}, []
    for s, k in raw:
        clouds, stats = cloud_mask(k, land, s.day)
        valid = np.isfinite(k) & land
        keep = valid & ~clouds
        fields[s.doy] = np.where(keep, k, np.nan).astype(np.float32)
        report.append({"doy": s.doy, "label": s.label, "day": s.day, "split": "test" if s.doy in test_doys else "train",
                       "valid_land": round(float(valid.sum()) / valid.size, 4),
                       "clouds": round(float((valid & clouds).sum()) / max(1, valid.sum()), 4),
                       "usable": round(float(keep.sum()) / keep.size, 4), **stats})
    return {"scenes": all_scenes, "fields": fields, "water": water, "water_fraction": float(water.mean()),
            "workdir": str(workdir),
            "report": report, "test_doys": sorted(test_doys), "train_doys": sorted(train_doys),
            "amplitude_median_k": {"land": float(np.nanmedian(amp[land])), "water": float(np.nanmedian(amp[water]))}}


def windows(field, keys, size, stride):
    """Cloud-free, land-only ``size``² windows of ``field`` inside the blocks ``keys`` (stride ``stride``):
    [(row, col)]."""
    ok = np.isfinite(field)
    c = np.pad(ok, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    out = []
    for by, bx in keys:
        lo, hi = BLOCK_MARGIN, BLOCK - BLOCK_MARGIN - size
        for y in range(by + lo, by + hi + 1, stride):
            for x in range(bx + lo, bx + hi + 1, stride):
                if c[y + size, x + size] - c[y, x + size] - c[y + size, x] + c[y, x] == size * size:
                    out.append((y, x))
    return out


def test_windows(field, keys):
    """Non-overlapping 64² test patches: a greedy pick on the stride-16 grid of :func:`windows`."""
    taken = []
    for y, x in windows(field, keys, PATCH, 16):
        if all(abs(y - a) >= PATCH or abs(x - b) >= PATCH for a, b in taken):
            taken.append((y, x))
    return taken


def parts(screened, *, size=PATCH, stride=16):
    """The split: ``{"train": [(doy, y, x)], "val": [...], "test": [...], "blocks": {part: count},
    "test_blocks": [(by, bx)]}``: ``size``² training windows at ``stride``, non-overlapping 64² validation and test
    patches."""
    part = blocks(~screened["water"])
    keys = {p: [k for k, v in part.items() if v == p] for p in ("train", "val", "test")}
    out = {"train": [], "val": [], "test": [], "blocks": {p: len(v) for p, v in keys.items()},
           "test_blocks": keys["test"]}
    for doy, field in sorted(screened["fields"].items()):
        if doy in screened["test_doys"]:
            out["test"] += [(doy, y, x) for y, x in test_windows(field, keys["test"])]
        else:
            out["train"] += [(doy, y, x) for y, x in windows(field, keys["train"], size, stride)]
            out["val"] += [(doy, y, x) for y, x in test_windows(field, keys["val"])]
    return out


def pairs(fields, entries, size=PATCH):
    """(coarse, truth) arrays of the entries: truth ``size``², coarse its Norm-L4 ×4 aggregate."""
    truth = np.stack([fields[d][y:y + size, x:x + size] for d, y, x in entries]).astype(np.float32)
    coarse = np.stack([temperature.norm_l4(t, SCALE) for t in truth])
    return coarse, truth


# --------------------------------------------------------------------------------------------
# The held-out crops shipped in the repository (the demo and the card's check use them)
# --------------------------------------------------------------------------------------------
HELDOUT_DIR = REPO / "resources" / "sample_data" / "ecostress_la_heldout"
#: Source pixels kept around a block's footprint when it is cropped (bilinear needs one; the rest is slack).
CROP_MARGIN = 4


def crop_name(scene_name, by, bx):
    return scene_name.replace(".tif", f"_r{by}c{bx}.tif")


def write_heldout(screened, test_blocks, folder=HELDOUT_DIR):
    """Crop every test scene, in its own format (UInt16, scale 0.02, nodata 0, geographic), around every test
    block, and write ``heldout.json``: the blocks, the scenes (day/night) and, per crop, the block pixels the
    screening removed (water, clouds). Warped by :func:`warp_kelvin` onto :func:`block_bounds`, a crop gives the
    whole scene's warped values exactly (checked here)."""
    from osgeo import gdal, osr

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    utm, geo = osr.SpatialReference(), osr.SpatialReference()
    utm.ImportFromEPSG(GRID_EPSG)
    geo.ImportFromEPSG(4326)
    geo.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    to_geo = osr.CoordinateTransformation(utm, geo)
    doc = {"source": ECOSTRESS_SOURCE, "blocks": [list(b) for b in test_blocks], "scenes": {}, "masked": {}}
    scenes_by_doy = {s.doy: s for s in screened["scenes"]}
    for doy in screened["test_doys"]:
        scene = scenes_by_doy[doy]
        doc["scenes"][scene.path.name] = {"doy": doy, "day": scene.day, "label": scene.label}
        ds = gdal.Open(str(scene.path))
        gt = ds.GetGeoTransform()
        for by, bx in test_blocks:
            x0, y0, x1, y1 = block_bounds(by, bx)
            pts = [to_geo.TransformPoint(x, y)[:2] for x in (x0, x1) for y in (y0, y1)]
            cols = [(p[0] - gt[0]) / gt[1] for p in pts]
            rows = [(p[1] - gt[3]) / gt[5] for p in pts]
            c0, r0 = int(np.floor(min(cols))) - CROP_MARGIN, int(np.floor(min(rows))) - CROP_MARGIN
            c1, r1 = int(np.ceil(max(cols))) + CROP_MARGIN, int(np.ceil(max(rows))) + CROP_MARGIN
            name = crop_name(scene.path.name, by, bx)
            gdal.Translate(str(folder / name), ds, srcWin=[c0, r0, c1 - c0, r1 - r0],
                           creationOptions=["COMPRESS=LZW", "PREDICTOR=2"])
            warped = read_kelvin(warp_kelvin(folder / name, Path(screened["workdir"]) / f"check_{name}",
                                             (x0, y0, x1, y1)))
            whole = read_kelvin(warp(scene, screened["workdir"]))[by:by + BLOCK, bx:bx + BLOCK]
            if not np.array_equal(warped, whole, equal_nan=True):
                raise RuntimeError(f"{name}: the crop does not warp to the whole scene's values")
            field = screened["fields"][doy][by:by + BLOCK, bx:bx + BLOCK]
            doc["masked"][name] = np.argwhere(np.isfinite(warped) & ~np.isfinite(field)).tolist()
        del ds
    (folder / "heldout.json").write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return doc


def read_heldout(folder=HELDOUT_DIR, workdir=None):
    """The shipped held-out crops as the recipe scores them: ``{"day": (coarse, truth), "night": (...)}`` of the
    64² test patches (:func:`test_windows` in each block), warped and screened as in :func:`write_heldout`."""
    import tempfile

    folder = Path(folder)
    doc = json.loads((folder / "heldout.json").read_text(encoding="utf-8"))
    workdir = Path(workdir or tempfile.mkdtemp(prefix="eco_heldout-"))
    workdir.mkdir(parents=True, exist_ok=True)
    fields, entries = {}, {"day": [], "night": []}
    for key, (name, scene) in enumerate(sorted(doc["scenes"].items())):
        for by, bx in doc["blocks"]:
            crop = crop_name(name, by, bx)
            k = read_kelvin(warp_kelvin(folder / crop, workdir / crop, block_bounds(by, bx)))
            for r, c in doc["masked"][crop]:
                k[r, c] = np.nan
            fields[(key, by, bx)] = k
            entries["day" if scene["day"] else "night"] += [((key, by, bx), y, x) for y, x in test_windows(k, [(0, 0)])]
    return {part: pairs(fields, e) for part, e in entries.items() if e}
