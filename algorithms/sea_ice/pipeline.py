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

Jobs (one per Processing algorithm, each taking one :class:`~sarsense.algorithms.io.options.RunOptions`):
:func:`concentration_file` (``sarsense:seaiceconcentration``) and :func:`skill_file`
(``sarsense:seaiceskill``); ``sarsense:icechartclasses`` runs :func:`.sigrid.chart_file`.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .. import metrics
from .. import onnx as rt
from .. import report as _report
from ..io import engine as _engine
from ..io import raster as _raster
from ..io import stack as _stack
from ..io.engine import Counts
from ..io.engine import tiles as _tiles
from ..io.options import RunOptions, resolve
from .classes import N_SIC_CLASSES, NODATA, SIC_PERCENT, class_table

#: The dB range of the paper's normalisation (§II.A): clipped to it, then scaled to [−1, 1].
DB_MIN, DB_MAX = -30.0, 10.0
MODES = ("full", "tiled")
#: The memory budget of :func:`chart` when the caller gives no options (the algorithm's BUDGET_MB default).
CHART_BUDGET_MB = 512


def downsample_kernel(*, units: str = "db", factor: int = 2, land_band: bool = False,
                      counter: Counts | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """Block kernel of :func:`prepare`: ``(2 or 3, h·f, w·f)`` → HH, HV in dB on the ``f``× coarser grid.

    Bands: HH, HV (in ``units``: 'db' or 'linear' power) and, with ``land_band``, a land mask
    (non-zero = land). Each ``f×f`` block's linear power is averaged over its valid pixels (NaN
    where none is valid), turned into dB and clipped to [``DB_MIN``, ``DB_MAX``]; power ≤ 0 (noise
    subtraction can leave it) becomes ``DB_MIN``. A coarse pixel touching land is NaN in both bands.
    ``counter`` (a :class:`~sarsense.algorithms.io.engine.Counts` with ``valid``) adds up the coarse
    pixels valid in both bands.
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
            counter.add(valid=np.count_nonzero(np.all(np.isfinite(db), axis=0)))
        return db
    return kernel


NO_VALID_PIXEL = "the scene has no valid pixel: HH or HV is NaN/nodata (or land) everywhere"


def prepare(inputs: list[str], output: str, *, units: str = "db", factor: int = 2, land: str | None = None,
            options: RunOptions | None = None) -> dict:
    """Write the network's input: HH and HV in dB, downsampled ``factor``× (§II.C), clipped, land masked.

    ``inputs`` are the HH and HV rasters (two single-band files, or one two-band file) on one grid;
    ``land`` an optional raster on that grid, non-zero where there is land. Raises ``ValueError``
    when no pixel is left valid (an all-NaN or all-land scene). ``options``: budget, compression,
    progress and cancel (the engine aggregates on one thread). Returns the engine's summary with
    ``valid`` (coarse pixels valid in both bands).
    """
    stack = _engine.RasterStack(list(inputs) + ([land] if land else []))
    if stack.band_count != 2 + (1 if land else 0):
        raise ValueError(f"need HH and HV: two single-band rasters or one two-band raster, got "
                         f"{stack.band_count - (1 if land else 0)} band(s)")
    counter = Counts("valid")
    options = resolve(options).with_empty_hint(NO_VALID_PIXEL)
    res = _engine.run_aggregate(stack.paths, output, downsample_kernel(units=units, factor=factor, land_band=bool(land),
                                                                       counter=counter),
                                factor=factor, out_bands=2, descriptions=["HH (dB, clipped)", "HV (dB, clipped)"],
                                band_metadata=[{"units": "dB"}] * 2, bytes_per_pixel=48,
                                options=options)
    if counter["valid"] == 0:
        _engine.remove_dataset_files(output)
        raise ValueError(NO_VALID_PIXEL)
    res["valid"] = counter["valid"]
    return res


def check_model(model) -> None:
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


def full_scene_budget_mb(model, xsize: int, ysize: int) -> float:
    """The memory budget (MiB) a full-scene run of an ``xsize``×``ysize`` scene needs: one tile of the padded scene
    may take at most half the budget (:func:`io.tiles.plan_tiles`), GDAL's share aside."""
    c = model.contract
    xpad = _tiles.padded_size(xsize, c.tile_size, c.size_multiple, model.fixed_size)
    ypad = _tiles.padded_size(ysize, c.tile_size, c.size_multiple, model.fixed_size)
    one = _tiles.tile_bytes(xpad, ypad, 1, c.n_inputs, c.n_outputs, c.memory_per_pixel) / 2**20
    return 2 * one + _engine.RUN_CACHE_MB + 32


def full_scene_tile(model, info: _raster.RasterInfo, *, budget_mb: float, batch: int = 1) -> int | None:
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


def chart(model, prepared: str, output: str, *, mode: str = "tiled", expected: str | None = None, batch: int = 4,
          log: Callable[[str], None] | None = None, options: RunOptions | None = None) -> dict:
    """Run the SIC model over a prepared scene (:func:`prepare`): class map ``output`` and, optionally,
    the expected SIC in % (``expected``: the probability-weighted mean of the class concentrations).

    ``mode`` 'full' runs the scene as one piece (the paper tests on whole scenes, §III) when that fits
    the budget of ``options`` (:data:`CHART_BUDGET_MB` without options), else tiles it (``log`` says so,
    with the budget it would need); 'tiled' uses the contract's tiles and halo, blended by the shared
    runtime, the halo raised where needed so that neighbouring tiles overlap by at least half the
    receptive field (overlap = 2·halo + blend, blend = halo/2: halo ≥ RF/5). ``options`` also carry the
    outputs' compression, progress and cancel (the runtime runs one block at a time). Returns the
    runtime's summary plus ``mode`` (the mode used).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    check_model(model)
    opts = options if options is not None else RunOptions(budget_mb=CHART_BUDGET_MB)
    budget_mb = opts.budget_mb
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
    res = rt.apply_model(model, prepared, output, expectation=expected, batch=batch, options=opts, **tiling)
    res["mode"] = used
    return res


def skill_counts(predicted: str, reference: str, *, options: RunOptions | None = None) -> np.ndarray:
    """Confusion counts (rows predicted, columns reference) of two SIC class rasters on one grid, over the
    pixels valid (class 0–10) in both: block by block (one thread), so any scene size fits the budget."""
    def kernel(block):
        cls = np.where(np.isfinite(block), block, NODATA).astype(np.int64)
        return metrics.confusion_counts(cls[1], cls[0], N_SIC_CLASSES)
    return _engine.reduce_blockwise([predicted, reference], kernel, initial=np.zeros((N_SIC_CLASSES,) * 2, np.int64),
                                    combine=lambda a, b: a + b, bytes_per_pixel=24,
                                    options=resolve(options).replace(workers=1))


def skill(matrix: np.ndarray) -> dict:
    """R² of SIC % (eq. 7), class-weighted F1 and accuracy from confusion counts, with per-class F1 and support.

    Raises ``ValueError`` when no pixel is valid in both maps.
    """
    m = np.asarray(matrix)
    if m.sum() == 0:
        raise ValueError("no pixel holds a SIC class (0–10) in both the prediction and the reference: the two "
                         "charts do not overlap, or where they do one of them is no data (255) everywhere. Check both "
                         "charts' extent and CRS, and score a chart against the reference of its own scene")
    acc = metrics.sample_accuracy(m)
    return {"r2": metrics.r2_from_confusion(m, SIC_PERCENT), "f1_weighted": metrics.weighted_f1(m),
            "accuracy": acc["oa"], "n": acc["n"], "f1": np.nan_to_num(acc["f1"], nan=0.0), "pa": acc["pa"],
            "ua": acc["ua"], "support": m.sum(axis=0), "matrix": m, "names": [c["name"] for c in class_table()]}


# --------------------------------------------------------------------------------------------
# Jobs
# --------------------------------------------------------------------------------------------
def polarisation_inputs(hh: str | None, hv: str, *, hh_label: str = "HH", hv_label: str = "HV") -> list[str]:
    """``[hh, hv]`` or ``[hh_hv]`` (one two-band raster given as ``hv``): the scene as :func:`prepare` reads it.

    Raises ``ValueError`` naming the inputs (``hh_label``, ``hv_label``) when a polarisation is
    missing, a file has the wrong number of bands, or HH and HV are not on one grid.
    """
    n_hv = _raster.read_info(hv).band_count
    if hh is None:
        if n_hv != 2:
            raise ValueError(f"{hv_label} has {n_hv} band(s) and {hh_label} is empty: the model needs both "
                             "polarisations. Give HH as well, or one raster with band 1 = HH and band 2 = HV in HV.")
        return [hv]
    n_hh = _raster.read_info(hh).band_count
    if n_hh != 1 or n_hv != 1:
        raise ValueError(f"with both {hh_label} ({n_hh} band(s)) and {hv_label} ({n_hv}) given, each must have one "
                         "band; a 2-band HH+HV raster goes in HV alone.")
    a, b = _raster.read_info(hh), _raster.read_info(hv)
    if not a.same_grid(b):
        raise ValueError(f"HH ({a.xsize}×{a.ysize} px) and HV ({b.xsize}×{b.ysize} px) are not on the same grid "
                         "(size, geotransform or CRS differ): they must be the two polarisations of one product. "
                         "Warp HV onto HH first (Raster ▸ Projections ▸ Warp, 'Reference layer' = HH).")
    return [hh, hv]


def concentration_file(inputs: list[str], output: str, model, *, units: str = "db", factor: int = 2,
                       land: str | None = None, mode: str = "tiled", expected: str | None = None,
                       options: RunOptions | None = None) -> dict:
    """A SIC class chart (and optionally the expected SIC in %) from HH and HV: the job of
    ``sarsense:seaiceconcentration``.

    :func:`prepare` writes the network's input (Stokholm et al. 2022, §II.A and §II.C: ``factor``×
    mean in linear power, dB clipped to [:data:`DB_MIN`, :data:`DB_MAX`], land masked) to a
    temporary beside ``output``, removed whatever happens; :func:`chart` runs the model over it.

    Parameters
    ----------
    inputs : list of str
        HH and HV (two single-band rasters, or one two-band raster; :func:`polarisation_inputs`).
    output : str
        uint8 class map: SIC class 0–10, 255 = no data or land.
    model : onnx.Model
        A sea-ice concentration model (:func:`check_model`).
    units : str
        'db' or 'linear' power.
    factor : int
        Pixels averaged per side.
    land : str, optional
        A raster on the inputs' grid, non-zero on land.
    mode : str
        One of :data:`MODES`.
    expected : str, optional
        Float32 expected SIC (%) beside the class map.
    options : RunOptions, optional
        Budget (of the whole run), compression (of the outputs), progress (preparation 10 %, the
        model the rest) and cancel. Without options the budget is :data:`CHART_BUDGET_MB`.

    Returns
    -------
    dict
        :func:`chart`'s summary (``mode``, ``tile``, ``tiles``, ``halo``, ``blend``, ``infinite``, …) plus
        ``valid`` (coarse pixels valid in both bands), ``input`` (``xsize``, ``ysize``, ``pixel_size``
        of the network's input) and ``notes``: what :func:`chart` said (a full scene that did not fit).
    """
    check_model(model)
    opts = options if options is not None else RunOptions(budget_mb=CHART_BUDGET_MB)
    notes = []
    with _engine.temporary_raster(output, "sarsense_sic_input_") as prepared:
        # the temporary keeps the default compression and the engine's default budget it always had, whatever the
        # outputs' compression and the network's budget are (a 512 MiB budget here raised the peak by 120 MB)
        prep = prepare(inputs, prepared, units=units, factor=factor, land=land,
                       options=opts.part(0.0, 0.1).replace(compression=_raster.DEFAULT_COMPRESSION,
                                                          budget_mb=_engine.DEFAULT_BUDGET_MB))
        info = _raster.read_info(prepared)
        res = chart(model, prepared, output, mode=mode, expected=expected, log=notes.append,
                    options=opts.part(0.1, 1.0))
    res.update(valid=prep["valid"], notes=notes,
               input={"xsize": info.xsize, "ysize": info.ysize, "pixel_size": abs(info.geotransform[1])})
    return res


#: What a SIC class chart must be, and how to make one, for the messages that refuse another raster.
CLASS_CHART_FIX = ("a SIC class chart holds classes 0–10 (0–100 % in 10 % steps) and 255 (no data), as 'Sea-ice "
                   "concentration chart' (its chart, OUTPUT, not the Expected SIC (%), OUTPUT_EXPECTED) and 'Ice "
                   "chart to SIC classes' write it. A SIC in percent becomes classes by 0 below 10 %, else "
                   "round(SIC / 10) (e.g. with the Raster calculator, output Byte)")


def check_class_chart(path: str, label: str = "the chart") -> None:
    """Refuse a raster that is not a one-band SIC class chart (``label`` names it in the message): more than one
    band, or values other than the classes 0–10 and 255 in a sample (a SIC in percent, an expected SIC, backscatter).
    Fractional values are refused before this by the Processing layer's class-map check."""
    info = _raster.read_info(path)
    if info.band_count != 1:
        raise ValueError(f"{label} has {info.band_count} bands; a SIC chart has one (classes 0–10).")
    s = _raster.sample_values(path).ravel()
    s = s[np.isfinite(s)]
    bad = s[((s < 0) | (s > N_SIC_CLASSES - 1)) & (s != NODATA)]
    if bad.size:
        lo, hi = float(s.min()), float(s.max())
        looks = (" (values up to 100: it looks like a SIC in percent)" if 0 <= lo and hi <= 100 else
                 " (negative values: it looks like backscatter or another quantity)" if lo < 0 else "")
        raise ValueError(f"{label} holds values {lo:g}..{hi:g}, {bad.size} of {s.size} sampled outside the classes "
                         f"0–10 and 255{looks}: {CLASS_CHART_FIX}.")


#: The per-class table of :func:`skill_file`: ``(column, type)``; ``ref_k`` are the confusion matrix's row.
SKILL_COLUMNS = ([("code", int), ("class", str), ("sic_percent", int), ("reference_px", int), ("mapped_px", int),
                  ("PA_recall", float), ("UA_precision", float), ("F1", float)] +
                 [(f"ref_{k}", int) for k in range(N_SIC_CLASSES)])


def demonstration_notice(path: str) -> str:
    """What a chart made by a demonstration model must say in a report that scores it (the metadata the shared
    runtime writes from the model card, :meth:`onnx.Card.metadata`), or ''."""
    meta = _raster.open_dataset(path).GetMetadata() or {}
    if meta.get("SARSENSE_MODEL_STATUS") != rt.DEMONSTRATION:
        return ""
    return (f"The predicted chart was made by {meta.get('SARSENSE_MODEL', 'a model')}, a DEMONSTRATION model "
            f"trained on {meta.get('SARSENSE_MODEL_TRAINED_ON', 'data its card names')}: its skill here is that of a "
            "demonstration, not of a model fit for charting real scenes.")


def skill_file(predicted: str, reference: str, html: str, *, predicted_label: str = "the predicted chart",
               reference_label: str = "the reference chart", options: RunOptions | None = None) -> dict:
    """Skill of a SIC class chart against a reference chart: the job of ``sarsense:seaiceskill``.

    The reference is put on the prediction's grid first when it is on another (majority of the
    reference pixels in each chart pixel); the confusion counts come block by block
    (:func:`skill_counts`), the figures from :func:`skill`: R² of SIC % (Stokholm et al. 2022, eq. 7),
    the AutoICE class-weighted F1 and accuracy. The HTML report ``html`` is written.

    Parameters
    ----------
    predicted, reference : str
        One-band SIC class rasters (0–10, 255 = no data).
    html : str
        The self-contained HTML report written.
    predicted_label, reference_label : str
        How messages name the two charts.
    options : RunOptions, optional
        Budget, progress and cancel (one thread).

    Returns
    -------
    dict
        :func:`skill`'s figures plus ``regridded`` (the reference was put on the chart's grid) and
        ``rows``: one row per class, as :data:`SKILL_COLUMNS`; ``demonstration``: :func:`demonstration_notice`
        of the predicted chart ('' unless a demonstration model made it).
    """
    on_grid, _ = _stack.on_grid(reference, predicted, resampling="mode", label=reference_label,
                                ref_label=predicted_label)
    try:
        m = skill_counts(predicted, on_grid, options=options)
    finally:
        if on_grid != reference:
            _stack.release(on_grid)
    s = skill(m)
    s["regridded"] = on_grid != reference
    s["demonstration"] = demonstration_notice(predicted)
    s["rows"] = [[k, s["names"][k], SIC_PERCENT[k], int(s["support"][k]), int(m[k].sum()), s["pa"][k], s["ua"][k],
                  s["f1"][k]] + [int(v) for v in m[k]] for k in range(N_SIC_CLASSES)]
    skill_report(html, predicted, reference, s)
    return s


def skill_report(path: str, predicted: str, reference: str, s: dict) -> None:
    """The skill report: one self-contained HTML file with the figures of :func:`skill` (``s``), the confusion
    matrix as a table and a plot, and the per-class figures."""
    demo = s.get("demonstration", "")
    rep = _report.Report("Sea-ice chart skill" + (f" ({rt.DEMONSTRATION} model)" if demo else ""),
                         source=f"Predicted: {predicted}. Reference: {reference}. {s['n']} pixels hold a SIC class "
                                "in both.")
    if demo:
        rep.paragraph(demo)
    rep.paragraph(f"R² of SIC (Stokholm et al. 2022, eq. 7) {s['r2']:.4f}; class-weighted F1 (AutoICE) "
                  f"{s['f1_weighted']:.4f}; accuracy {s['accuracy']:.4f}.")
    rep.heading("Confusion matrix (rows: predicted, columns: reference)")
    short = [f"{p} %" for p in SIC_PERCENT]
    acc = {"ua": s["ua"], "pa": s["pa"], "oa": s["accuracy"]}
    rep.confusion_table(s["matrix"], short, acc)
    rep.image(_report.confusion_figure(s["matrix"], short), "Confusion matrix (pixels)")
    rep.heading("Per class")
    rep.table(["class", "reference px", "mapped px", "recall (PA)", "precision (UA)", "F1"],
              [[s["names"][k], int(s["support"][k]), int(s["matrix"][k].sum()), s["pa"][k], s["ua"][k], s["f1"][k]]
               for k in range(N_SIC_CLASSES)], digits=3)
    rep.paragraph("R² uses each class's concentration (0, 10, … 100 %); F1 of a class with reference pixels but no "
                  "correct prediction is 0, and classes without reference pixels weigh nothing in the weighted F1.")
    rep.write(path)
