"""Sea-ice concentration charts from Sentinel-1 EW HH/HV: preparation, inference and skill, block by block.

Stokholm et al. (2022), IEEE TGRS 60, 4304013:

- §II.A: backscatter in dB is clipped to [−30, +10] dB and scaled linearly to [−1, 1]
  (:data:`DB_MIN`, :data:`DB_MAX`; the bundled model's contract does the scaling, ``min_max``
  normalisation, so a user model with the same contract gets the same input);
- §II.C: the SAR image is downsampled from 40 m to 80 m pixel spacing by 2×2 averaging (here
  in linear power, the physical mean of backscattered power, then back to dB);
- §II.C: NaN becomes 0 at the network input (the contract's ``nodata_fill``); the chart is
  masked where the SAR is NaN or land;
- §III, eq. (7): skill as R² of SIC in percent; with the AutoICE challenge's class-weighted F1
  and the accuracy beside it (:mod:`algorithms.metrics`).
"""

from __future__ import annotations

import math

import numpy as np

from .. import metrics
from .. import onnx as rt
from ..io import engine as _engine
from ..io import raster as _raster
from ..io.engine import tiles as _tiles
from .classes import N_SIC_CLASSES, NODATA, SIC_PERCENT, class_table

#: The dB range of the paper's normalisation (§II.A): clipped to it, then scaled to [−1, 1].
DB_MIN, DB_MAX = -30.0, 10.0
MODES = ("full", "tiled")


def downsample_kernel(*, units="db", factor=2, land_band=False, counter=None):
    """Block kernel of :func:`prepare`: ``(2 or 3, h·f, w·f)`` → HH, HV in dB on the ``f``× coarser grid.

    Bands: HH, HV (in ``units``: 'db' or 'linear' power) and, with ``land_band``, a land mask
    (non-zero = land). Each ``f×f`` block's linear power is averaged over its valid pixels (NaN
    where none is valid), turned into dB and clipped to [``DB_MIN``, ``DB_MAX``]; power ≤ 0 (noise
    subtraction can leave it) becomes ``DB_MIN``. A coarse pixel touching land is NaN in both bands.
    ``counter`` (a one-item list) accumulates the number of valid coarse pixels.
    """
    if units not in ("db", "linear"):
        raise ValueError(f"units must be 'db' or 'linear', got {units!r}")
    f = int(factor)

    def kernel(block):
        sar = block[:2]
        lin = np.power(np.float32(10.0), sar / np.float32(10.0)) if units == "db" else sar
        c, h, w = lin.shape[0], lin.shape[1] // f, lin.shape[2] // f
        cells = lin[:, :h * f, :w * f].reshape(c, h, f, w, f)
        ok = np.isfinite(cells)
        n = ok.sum(axis=(2, 4))
        total = np.where(ok, cells, np.float32(0)).sum(axis=(2, 4), dtype=np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / n
            db = np.float32(10.0) * np.log10(np.maximum(mean, np.float32(1e-30)))
        db = np.clip(db, DB_MIN, DB_MAX).astype(np.float32)
        db[n == 0] = np.nan
        if land_band:
            land = block[2, :h * f, :w * f].reshape(h, f, w, f)
            db[:, np.nan_to_num(land, nan=0.0).max(axis=(1, 3)) > 0] = np.nan
        if counter is not None:
            counter[0] += int(np.count_nonzero(np.all(np.isfinite(db), axis=0)))
        return db
    return kernel


def prepare(inputs, output, *, units="db", factor=2, land=None, budget_mb=_engine.DEFAULT_BUDGET_MB,
            progress=None, is_canceled=None):
    """Write the network's input: HH and HV in dB, downsampled ``factor``× (§II.C), clipped, land masked.

    ``inputs`` are the HH and HV rasters (two single-band files, or one two-band file) on one grid;
    ``land`` an optional raster on that grid, non-zero where there is land. Raises ``ValueError``
    when no pixel is left valid (an all-NaN or all-land scene). Returns the engine's summary with
    ``valid`` (coarse pixels valid in both bands).
    """
    stack = _engine.RasterStack(list(inputs) + ([land] if land else []))
    if stack.band_count != 2 + (1 if land else 0):
        raise ValueError(f"need HH and HV: two single-band rasters or one two-band raster, got "
                         f"{stack.band_count - (1 if land else 0)} band(s)")
    counter = [0]
    res = _engine.run_aggregate(stack.paths, output, downsample_kernel(units=units, factor=factor, land_band=bool(land),
                                                                       counter=counter),
                                factor=factor, out_bands=2, descriptions=["HH (dB, clipped)", "HV (dB, clipped)"],
                                band_metadata=[{"units": "dB"}] * 2, bytes_per_pixel=48, budget_mb=budget_mb,
                                progress=progress, is_canceled=is_canceled)
    if counter[0] == 0:
        _engine.remove_dataset_files(output)
        raise ValueError("the scene has no valid pixel: HH or HV is NaN/nodata (or land) everywhere")
    res["valid"] = counter[0]
    return res


def check_model(model):
    """Refuse a model that is not a sea-ice chart model: 2 inputs (HH, HV), segmentation into SIC classes 0–10."""
    c = model.contract
    problems = []
    if c.task != "segmentation":
        problems.append(f"its task is {c.task!r}, not segmentation")
    if c.n_inputs != 2:
        problems.append(f"it takes {c.n_inputs} input band(s), not 2 (HH, HV)")
    values = sorted(k.value for k in c.classes)
    if c.task == "segmentation" and values != list(range(N_SIC_CLASSES)):
        problems.append(f"its {len(values)} classes ({', '.join(map(str, values))}) are not the 11 SIC classes "
                        "0–10 (0, 10, … 100 %)")
    if problems:
        raise rt.ModelError(f"model '{c.name}' is not a sea-ice concentration model: " + "; ".join(problems) +
                            ". Use the bundled model or one exported with the same contract (models/README.md)")


def full_scene_budget_mb(model, xsize, ysize):
    """The memory budget (MiB) a full-scene run of an ``xsize``×``ysize`` scene needs: one tile of the padded scene
    may take at most half the budget (:func:`io.tiles.plan_tiles`), GDAL's share aside."""
    c = model.contract
    xpad = _tiles.padded_size(xsize, c.tile_size, c.size_multiple, model.fixed_size)
    ypad = _tiles.padded_size(ysize, c.tile_size, c.size_multiple, model.fixed_size)
    one = _tiles.tile_bytes(xpad, ypad, 1, c.n_inputs, c.n_outputs, c.memory_per_pixel) / 2**20
    return 2 * one + _engine.RUN_CACHE_MB + 32


def full_scene_tile(model, info, *, budget_mb, batch=1):
    """The one tile side covering the whole (padded) scene, or None when it does not fit ``budget_mb``."""
    c = model.contract
    side = max(_tiles.padded_size(n, c.tile_size, c.size_multiple, model.fixed_size) for n in (info.xsize, info.ysize))
    try:
        _tiles.plan_tiles(info.xsize, info.ysize, tile=side, margin=0, blend=0, multiple=c.size_multiple,
                          fixed_size=model.fixed_size, in_bands=c.n_inputs, out_bands=c.n_outputs, batch=batch,
                          budget_mb=budget_mb, reserved_mb=_engine.gdal_cache_share(budget_mb),
                          predict_bytes_per_pixel=c.memory_per_pixel)
    except ValueError:
        return None
    return side


def chart(model, prepared, output, *, mode="tiled", expected=None, budget_mb=512, batch=4,
          compression=_raster.DEFAULT_COMPRESSION, log=None, progress=None, is_canceled=None):
    """Run the SIC model over a prepared scene (:func:`prepare`): class map ``output`` and, optionally,
    the expected SIC in % (``expected``: the probability-weighted mean of the class concentrations).

    ``mode`` 'full' runs the scene as one piece (the paper tests on whole scenes, §III) when that fits
    ``budget_mb``, else tiles it (``log`` says so, with the budget it would need); 'tiled' uses the
    contract's tiles and halo, blended by the shared runtime, the halo raised where needed so that
    neighbouring tiles overlap by at least half the receptive field (overlap = 2·halo + blend, blend =
    halo/2: halo ≥ RF/5). Returns the runtime's summary plus ``mode`` (the mode used).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    check_model(model)
    info = _raster.read_info(prepared)
    c = model.contract
    tiling = {"halo": max(c.halo, math.ceil(c.receptive_field / 5))}
    used = "tiled"
    if mode == "full":
        side = full_scene_tile(model, info, budget_mb=budget_mb)
        if side is None:
            if log:
                need = full_scene_budget_mb(model, info.xsize, info.ysize)
                log(f"The whole {info.xsize}×{info.ysize} scene does not fit the memory budget ({budget_mb} MiB) "
                    f"in one piece: running in tiles instead. Raise the budget to at least {math.ceil(need)} MiB "
                    "for a full-scene run.")
        else:
            tiling, used = {"tile": side, "halo": 0, "blend": 0}, "full"
    res = rt.apply_model(model, prepared, output, expectation=expected, budget_mb=budget_mb, batch=batch,
                         compression=compression, progress=progress, is_canceled=is_canceled, **tiling)
    res["mode"] = used
    return res


def skill_counts(predicted, reference, *, budget_mb=_engine.DEFAULT_BUDGET_MB, progress=None, is_canceled=None):
    """Confusion counts (rows predicted, columns reference) of two SIC class rasters on one grid, over the
    pixels valid (class 0–10) in both: block by block, so any scene size fits the budget."""
    def kernel(block):
        cls = np.where(np.isfinite(block), block, NODATA).astype(np.int64)
        return metrics.confusion_counts(cls[1], cls[0], N_SIC_CLASSES)
    return _engine.reduce_blockwise([predicted, reference], kernel, initial=np.zeros((N_SIC_CLASSES,) * 2, np.int64),
                                    combine=lambda a, b: a + b, budget_mb=budget_mb, bytes_per_pixel=24,
                                    progress=progress, is_canceled=is_canceled)


def skill(matrix):
    """R² of SIC % (eq. 7), class-weighted F1 and accuracy from confusion counts, with per-class F1 and support.

    Raises ``ValueError`` when no pixel is valid in both maps.
    """
    m = np.asarray(matrix)
    if m.sum() == 0:
        raise ValueError("no pixel holds a SIC class (0–10) in both the prediction and the reference")
    acc = metrics.sample_accuracy(m)
    return {"r2": metrics.r2_from_confusion(m, SIC_PERCENT), "f1_weighted": metrics.weighted_f1(m),
            "accuracy": acc["oa"], "n": acc["n"], "f1": np.nan_to_num(acc["f1"], nan=0.0), "pa": acc["pa"],
            "ua": acc["ua"], "support": m.sum(axis=0), "matrix": m, "names": [c["name"] for c in class_table()]}
