"""LST rasters end to end, block by block: reading (GeoTIFF or MODIS HDF4), super-resolution by each
method, Norm-L4 degradation and quality figures. No QGIS; the Processing algorithms call these.

Jobs (one per Processing algorithm, each taking one :class:`~sarsense.algorithms.io.options.RunOptions`):
:func:`super_resolution_file` (``sarsense:lstsuperresolution``), :func:`degrade_file`
(``sarsense:degradelst``) and :func:`quality_file` (``sarsense:imagequality``). The passes they run
stay on one thread (``workers=1``), as they always have.

Memory: the fine (output) grid is always processed in blocks or tiles. TsHARP and ATPRK hold the
coarse grid's residuals in memory (the input's size, 1/SCALE² of the output: 5.8 MB for a
1200×1200 MODIS tile); everything else streams.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..io import engine as _engine
from ..io import raster as _raster
from ..io import stack as _stack
from ..io.engine import tiles as _tiles
from ..io.options import RunOptions, resolve
from ..onnx import apply as rt_apply
from . import modis, quality, resample, sharpen, temperature

METHODS = ("unet", "bicubic", "tsharp", "atprk")
#: Rings of a cloud gap filled from its edge before bicubic interpolation: the kernel's reach.
BICUBIC_FILL = resample.RADIUS
#: Rings of a cloud gap filled from its edge before the U-Net sees it (beyond: the contract's nodata_fill).
UNET_FILL = 8
#: Coarse tile side for bicubic (input pixels).
BICUBIC_TILE = 256


class LstSource:
    """A single-band LST raster as kelvin blocks: a GeoTIFF in kelvin or °C, or a MODIS LST subdataset.

    ``inputs`` is what the block engine reads (the LST band, plus its QC band for MODIS);
    :meth:`kelvin` turns such a block into kelvin with NaN nodata (scale, fill, valid range and,
    with ``qc_filter``, the QC test applied for MODIS).
    """

    def __init__(self, path: str, units: str = "kelvin", *, qc_filter: bool = True):
        self.path = str(path)
        self.modis = modis.parse_subdataset(self.path) is not None
        self.units = "kelvin" if self.modis else units
        self.qc_filter = qc_filter
        self.info = _raster.read_info(self.path)
        #: the kelvin sample :meth:`check` took (for the output's colour ramp)
        self.sample = None
        if not self.modis and self.info.band_count != 1:
            raise ValueError(f"'{self.path}' has {self.info.band_count} bands; LST must be a single band "
                             "(pick one band with 'Rearrange bands' or gdal_translate -b)")
        ds = _raster.open_dataset(self.path)
        band = ds.GetRasterBand(1)
        # the engine's reads apply a band's declared GDAL scale and offset (MODIS values warped or translated to
        # GeoTIFF keep theirs: 0.02), so a GeoTIFF block is already in LST units
        self.engine_scaling = _raster.band_scaling(band)
        if self.modis:
            self.decoding = modis.decoding(band.GetMetadata(), band.GetNoDataValue())
            self.inputs = [self.path, modis.qc_subdataset(self.path)] if qc_filter else [self.path]
        else:
            self.inputs = [self.path]
        del band, ds

    def kelvin(self, block):
        """(rows, cols) kelvin from an engine block of :attr:`inputs`."""
        if not self.modis:
            return temperature.to_kelvin(block[0], self.units)
        scale, offset, fill, lo, hi = self.decoding
        raw = self.stored(block[0])     # the engine already made the fill value NaN
        qc = block[1] if self.qc_filter else None
        with np.errstate(invalid="ignore"):
            out = modis.decode(np.where(np.isfinite(raw), raw, fill), qc, scale=scale, offset=offset, fill=fill,
                               valid_min=lo, valid_max=hi, qc_filter=self.qc_filter)
        return out

    def stored(self, values):
        """A MODIS LST block as the stored DN :func:`modis.decode` reads: the engine applied the band's GDAL scale
        where this GDAL reports one (Debian's 3.6 HDF4 driver reports none), so it is undone here."""
        if self.engine_scaling is None:
            return values
        scale, offset = self.engine_scaling
        return np.round((values - np.float32(offset)) / np.float32(scale))

    def qc_counts(self, *, options: RunOptions | None = None) -> dict:
        """For a MODIS subdataset, what its QC says of its pixels and what the QC filter dropped, counted over the
        whole subdataset (one pass over the LST and QC layers): ``{name: n}`` for :data:`modis.QC_COUNT_NAMES`;
        ``{}`` for any other raster."""
        if not self.modis:
            return {}
        _, _, fill, lo, hi = self.decoding

        def kernel(block):
            return modis.qc_counts(self.stored(block[0]), block[1], fill=fill, valid_min=lo, valid_max=hi,
                                   qc_filter=self.qc_filter)
        total = _engine.reduce_blockwise([self.path, modis.qc_subdataset(self.path)], kernel,
                                         initial=np.zeros(len(modis.QC_COUNT_NAMES), np.int64),
                                         combine=lambda a, b: a + b, bytes_per_pixel=32, options=_one_thread(options))
        return {name: int(n) for name, n in zip(modis.QC_COUNT_NAMES, total)}

    def check(self, label="INPUT"):
        """Refuse an all-NaN input or one whose values contradict its units; keeps and returns the kelvin sample."""
        samples = [_raster.sample_values(p, max_side=256) for p in self.inputs]
        n = min(s.size for s in samples)
        block = np.stack([s.ravel()[:n] for s in samples])[:, None, :]
        if self.modis:
            self.sample = temperature.check_plausible(self.kelvin(block)[0], "kelvin", label=label)
        else:
            self.sample = temperature.check_plausible(block[0, 0], self.units, label=label)
        return self.sample

    def write_kelvin(self, output: str, *, options: RunOptions | None = None) -> dict:
        """The LST as a float32 kelvin GeoTIFF on its own grid (the coarse input of the super-resolution),
        uncompressed whatever ``options`` say (a temporary the methods read back)."""
        opts = _one_thread(options).replace(compression="NONE")
        return _engine.run_blockwise(self.inputs, output, lambda b: self.kelvin(b)[np.newaxis], out_bands=1,
                                     descriptions=["LST (K)"], band_metadata=[{"units": "K"}], options=opts)


def _as_source(source):
    """``source`` as an :class:`LstSource` (a path is read in kelvin, QC filter on)."""
    return source if isinstance(source, LstSource) else LstSource(source)


def _one_thread(options):
    """The run's options on one thread: the LST passes have always run block after block."""
    return resolve(options).replace(workers=1)


def _layout(units, text):
    """Band description and units metadata of a one-band LST output."""
    unit = "K" if units == "kelvin" else "°C"
    return dict(descriptions=[f"LST ({unit}), {text}"], band_metadata=[{"units": "K" if units == "kelvin" else "degC"}])


# --------------------------------------------------------------------------------------------
# Degradation and quality
# --------------------------------------------------------------------------------------------
def degrade_file(source: LstSource | str, output: str, factor: int, *, options: RunOptions | None = None) -> dict:
    """Norm-L4 aggregation of an LST raster by ``factor``, written in the source's units (the job of
    ``sarsense:degradelst``).

    T_c = (mean T⁴)^(1/4) in kelvin over each ``factor``×``factor`` block (Stefan–Boltzmann;
    Nguyen et al. 2022, §III.B.3, :func:`.temperature.norm_l4`); a coarse pixel with any NaN input is NaN.

    Parameters
    ----------
    source : LstSource or str
        The LST (a path is read as kelvin with the MODIS QC filter on).
    output : str
        Float32 GeoTIFF, ``factor``× coarser, same origin and CRS, NaN nodata.
    factor : int
        Input pixels per output pixel along each axis.
    options : RunOptions, optional
        Budget, compression, progress and cancel (one thread).

    Returns
    -------
    dict
        The engine's summary (``xsize``, ``ysize``, ``infinite``, …) plus ``dropped``: the input
        ``(columns, rows)`` at the right and bottom that do not fill a whole block and were left out.
    """
    source = _as_source(source)

    def kernel(block):
        return temperature.from_kelvin(temperature.norm_l4(source.kelvin(block), factor), source.units)[np.newaxis]
    res = _engine.run_aggregate(source.inputs, output, kernel, factor=factor, out_bands=1, bytes_per_pixel=48,
                                **_layout(source.units, f"Norm-L4 ×{factor}"), options=_one_thread(options))
    res["dropped"] = (source.info.xsize % factor, source.info.ysize % factor)
    return res


#: The figures of :func:`quality_file`, in the order of its table's columns.
QUALITY_FIGURES = ("n", "rmse", "bias", "psnr", "ssim", "ssim_windowed", "dynamic_range")
#: The table :func:`quality_file` fills: ``(column, type)``.
QUALITY_COLUMNS = ([("scope", str), ("row", int), ("col", int), ("n", int)] +
                   [(k, float) for k in QUALITY_FIGURES[1:]])


def quality_file(reference: LstSource | str, estimate: LstSource | str, *, patch: int = 0,
                 window: int = quality.SSIM_WINDOW, options: RunOptions | None = None) -> dict:
    """RMSE, bias, PSNR and SSIM of an LST estimate against a reference on one grid, in kelvin (the job of
    ``sarsense:imagequality``).

    Whole-image figures (Nguyen et al. 2022, §IV.A: eq. 1's RMSE, PSNR eq. 2, global SSIM eq. 3) from
    one block-wise pass of :class:`.quality.Moments`, and the windowed SSIM (Wang et al. 2004, eq. 13)
    from a second pass whose blocks are read with the window's radius as halo; with ``patch`` > 0,
    the same figures per fully valid ``patch``×``patch`` patch.

    Parameters
    ----------
    reference, estimate : LstSource or str
        The two LST rasters on one grid (compared in kelvin).
    patch : int
        Patch side in pixels, 0 for the whole image only.
    window : int
        Side of the windowed SSIM's Gaussian window.
    options : RunOptions, optional
        Budget, progress (two passes: half each) and cancel (also between patches); one thread.

    Returns
    -------
    dict
        ``{"whole": figures + ssim_windowed, "patches": [dict(row, col, figures)], "skipped": n,
        "rows": table rows}``: ``rows`` follow :data:`QUALITY_COLUMNS`: the whole image, each
        scored patch, and with ``patch`` > 0 and at least one patch, their mean.

    Raises
    ------
    ValueError
        When no pixel is valid in both rasters.
    """
    reference, estimate = _as_source(reference), _as_source(estimate)
    opts = _one_thread(options)
    inputs = reference.inputs + estimate.inputs
    nr = len(reference.inputs)

    def pair(block):
        return reference.kelvin(block[:nr]), estimate.kelvin(block[nr:])

    moments = _engine.reduce_blockwise(inputs, lambda b: quality.Moments().update(*pair(b)),
                                       initial=quality.Moments(), combine=lambda t, p: t.add(p),
                                       options=opts.part(0, 0.5))
    whole = moments.figures()
    if whole["n"] == 0:
        raise ValueError("the reference and the estimate have no valid pixel in common: nothing to score.")
    dr = whole["dynamic_range"]
    if math.isfinite(dr):
        # read with the window's radius as halo, each block's window centres are exactly its core pixels
        sums = _engine.reduce_blockwise(
            inputs, lambda b: quality.ssim_map_sums(*pair(b), dr, window=window), halo=window // 2,
            initial=(0.0, 0), combine=lambda t, p: (t[0] + p[0], t[1] + p[1]), bytes_per_pixel=160,
            options=opts.part(0.5, 1.0))
        whole["ssim_windowed"] = sums[0] / sums[1] if sums[1] else float("nan")
    else:
        whole["ssim_windowed"] = float("nan")
    patches, skipped = [], 0
    if patch:
        info = reference.info
        with _engine.RasterStack(inputs) as stack:
            for y in range(0, info.ysize - patch + 1, patch):
                for x in range(0, info.xsize - patch + 1, patch):
                    opts.check_cancel()
                    r, e = pair(stack.read(_engine.Window(x, y, patch, patch, x, y, patch, patch)))
                    if not (np.isfinite(r).all() and np.isfinite(e).all()):
                        skipped += 1
                        continue
                    f = quality.figures(r, e)
                    f["ssim_windowed"] = quality.ssim_windowed(r, e, f["dynamic_range"], window=window)
                    patches.append({"row": y, "col": x, **f})
    rows = [("whole", None, None) + tuple(whole[k] for k in QUALITY_FIGURES)]
    rows += [("patch", p["row"], p["col"]) + tuple(p[k] for k in QUALITY_FIGURES) for p in patches]
    if patch and patches:
        mean = {k: sum(p[k] for p in patches) / len(patches) for k in QUALITY_FIGURES}
        rows.append(("patch mean", None, None) + tuple(mean[k] for k in QUALITY_FIGURES))
    return {"whole": whole, "patches": patches, "skipped": skipped, "rows": rows}


# --------------------------------------------------------------------------------------------
# Super-resolution
# --------------------------------------------------------------------------------------------
def _finish(units):
    def finish(values, valid):
        return temperature.from_kelvin(_tiles.mask_invalid(values, valid), units)
    return finish


def _fine_layout(units, method, scale):
    return dict(**_layout(units, f"{method} ×{scale}"),
                metadata={"SARSENSE_LST_METHOD": method, "SARSENSE_LST_SCALE": str(scale)})


def bicubic(kelvin_path: str, output: str, scale: int, *, units: str = "kelvin",
            options: RunOptions | None = None) -> dict:
    """Keys bicubic ×``scale`` of a kelvin raster (Keys 1981, a = −0.5; :func:`.resample.upsample`), NaN-aware:
    gaps filled :data:`BICUBIC_FILL` rings deep for the kernel, masked again. Output in ``units``."""
    fallback = 0.0   # never reaches a valid pixel: every coarse pixel within the kernel's reach is filled

    def predict(tiles):
        out = np.empty((tiles.shape[0], 1, tiles.shape[2] * scale, tiles.shape[3] * scale), np.float32)
        for i, t in enumerate(tiles[:, 0]):
            out[i, 0] = resample.upsample(resample.fill_gaps(t, iterations=BICUBIC_FILL, fallback=fallback), scale)
        return out
    margin = BICUBIC_FILL + resample.RADIUS
    return _tiles.run_tiled(kelvin_path, output, predict, tile=BICUBIC_TILE, margin=margin, blend=0, out_bands=1,
                            scale=scale, batch=1, predict_bytes_per_pixel=16 * scale * scale, finish=_finish(units),
                            **_fine_layout(units, "bicubic", scale), options=_one_thread(options))


def check_sr_model(model, scale: int, *, label: str = "MODEL") -> None:
    """Refuse a model that is not a one-band kelvin super-resolution model of factor ``scale`` (``label``: the model
    parameter as messages name it)."""
    c = model.contract
    name = os.path.basename(model.path)
    if c.task != "super_resolution":
        raise ValueError(f"{label} '{name}' is a {c.task} model, not a super-resolution model: choose an LST "
                         f"super-resolution model (task super_resolution), or leave {label} empty for the bundled one")
    if c.n_inputs != 1:
        raise ValueError(f"{label} '{name}' takes {c.n_inputs} input bands; LST super-resolution takes one (LST)")
    if c.scale_factor != scale:
        raise ValueError(f"the U-Net '{c.name}' super-resolves ×{c.scale_factor}, not ×{scale}: set SCALE to "
                         f"{c.scale_factor}, or choose bicubic, TsHARP or ATPRK for ×{scale}")
    if c.channels[0][1].strip().lower() not in ("k", "kelvin"):
        raise ValueError(f"{label} '{name}' expects its input in '{c.channels[0][1]}'; SARSense feeds LST in kelvin "
                         "(K)")
    if c.output_units.strip().lower() not in ("k", "kelvin"):
        raise ValueError(f"{label} '{name}' writes '{c.output_units}'; an LST model must return kelvin (K)")


def unet(kelvin_path: str, output: str, model, *, units: str = "kelvin", tile: int | None = None,
         options: RunOptions | None = None) -> dict:
    """The multi-residual U-Net through the shared runtime's tiled inference (super_resolution task).

    Cloud gaps are filled first, in one block-wise pass over the coarse grid: :data:`UNET_FILL`
    rings deep from their edges, beyond that the contract's ``nodata_fill``. The network then runs
    on the filled grid in tiles whose margin is the contract's halo, and the output is masked where
    the input was NaN. The result does not depend on the tiling or the blocks. The tile is the
    contract's, or the largest that fits the budget of ``options`` with the network's working memory
    (:func:`io.tiles.fitting_tile`). Progress: the gap fill 5 %, the network the rest.
    """
    opts = _one_thread(options)
    budget_mb = opts.budget_mb
    c = model.contract
    fallback = c.nodata_fill * c.norm_scale[0] + c.norm_offset[0]
    margin = c.halo
    want = tile or c.tile_size
    fit = dict(margin=margin, scale=c.scale_factor, multiple=c.size_multiple, in_bands=2, out_bands=1,
               predict_bytes_per_pixel=c.memory_per_pixel, budget_mb=budget_mb)
    tile = want if model.fixed_size else _tiles.fitting_tile(want, **fit)
    if tile is None:
        raise ValueError(f"the memory budget of {budget_mb:.0f} MiB cannot hold one tile of the U-Net "
                         f"'{c.name}' ({c.memory_per_pixel} B of working memory per input pixel, halo {margin} px): "
                         "raise the memory budget")
    model.reset_counts()
    with _engine.temporary_raster(output, "sarsense_lst_filled_") as filled:
        _engine.run_blockwise(
            kelvin_path, filled,
            lambda blk: resample.fill_gaps(blk[0], iterations=UNET_FILL, fallback=fallback)[np.newaxis],
            halo=UNET_FILL, out_bands=1, bytes_per_pixel=64,
            options=opts.part(0.0, 0.05).replace(compression="NONE"))
        # band 1: the filled LST the network sees; band 2: the original, whose NaN mask the engine re-applies
        res = _tiles.run_tiled([filled, kelvin_path], output, lambda tiles: model.predict_tiles(tiles[:, :1]),
                               tile=tile, margin=margin, out_bands=1, scale=c.scale_factor, multiple=c.size_multiple,
                               fixed_size=model.fixed_size, batch=4, predict_bytes_per_pixel=c.memory_per_pixel,
                               finish=_finish(units), **_fine_layout(units, "unet", c.scale_factor),
                               options=opts.part(0.05, 1.0))
    res["model"] = {"name": c.name, "version": c.version, "sha256": model.sha256}
    return rt_apply.record_nonfinite(model, res, [output])


def fine_ndvi(ndvi_path: str, coarse_info: _raster.RasterInfo, scale: int) -> tuple[str, str]:
    """The NDVI on the fine output grid (a virtual warp: average from finer pixels, bilinear from coarser).

    Refused when it does not cover the LST extent. Returns ``(path, resampling)``; free the path
    with :func:`io.stack.release`.
    """
    info = _raster.read_info(ndvi_path)
    if info.band_count != 1:
        raise ValueError(f"the NDVI '{ndvi_path}' has {info.band_count} bands; give a single-band NDVI raster")
    gt = coarse_info.geotransform
    fine_px = abs(gt[1]) / scale
    ndvi_px = abs(info.geotransform[1])
    if _raster.same_crs(info.projection, coarse_info.projection):
        finer = ndvi_px < fine_px
    else:   # compare in metres at the centre: the NDVI's pixel is finer if more of them fit in a fine pixel
        finer = True
    resampling = "average" if finer else "bilinear"
    fine = _raster.RasterInfo(path=f"{coarse_info.path} (×{scale} grid)", xsize=coarse_info.xsize * scale,
                              ysize=coarse_info.ysize * scale, band_count=1,
                              geotransform=(gt[0], gt[1] / scale, gt[2] / scale, gt[3], gt[4] / scale, gt[5] / scale),
                              projection=coarse_info.projection, nodata=(None,), descriptions=("",),
                              dtypes=("Float32",))
    path, covered = _stack.on_grid(ndvi_path, fine, resampling=resampling, label="the NDVI", ref_label="the LST")
    if covered < 0.999:
        _stack.release(path)
        raise ValueError(f"the NDVI '{os.path.basename(ndvi_path)}' covers {100 * covered:.1f} % of the LST extent; "
                         "it must cover all of it. Clip the LST to the NDVI's footprint first (Raster ▸ Extraction ▸ "
                         "Clip Raster by Extent), or give an NDVI that covers the LST")
    return path, resampling


def sharpen_raster(kelvin_path: str, ndvi_fine: str, output: str, scale: int, method: str, *,
                   units: str = "kelvin", options: RunOptions | None = None) -> dict:
    """TsHARP (Agam et al. 2007) or ATPRK (Wang, Shi & Atkinson 2016) ×``scale`` from a kelvin coarse raster
    and the NDVI on the fine grid (:mod:`.sharpen`).

    Progress: the NDVI's coarse moments 30 %, the fine LST the rest. Returns the engine summary plus
    ``trend`` (a, b, r, n) and, for ATPRK, ``variogram``.
    """
    opts = _one_thread(options)
    mom = _engine.run_aggregate(ndvi_fine, None, lambda blk: sharpen.ndvi_moments(blk[0], scale), factor=scale,
                                out_bands=5, out_dtype=np.float64, options=opts.part(0.0, 0.3))["array"]
    lst = _engine.run_whole(kelvin_path, lambda b: b)[0].astype(np.float64)
    lst = lst[:mom.shape[1], :mom.shape[2]]
    trend = sharpen.fit_trend(lst, mom[1])
    t_ref = float(np.nanmean(lst))
    rho = sharpen.coarse_residuals(lst, mom, trend["a"], trend["b"], t_ref)
    result = {"trend": trend}
    w = 0
    atpk = None
    if method == "atprk":
        atpk = sharpen.ATPK(scale)
        result["variogram"] = atpk.fit(rho)
        w = atpk.w
    padded = np.pad(rho, w, constant_values=np.nan)
    a, b = trend["a"], trend["b"]

    def kernel(block, where):
        rows, cols = where.rows, where.cols
        cr0, cr1 = rows[0] // scale, rows[-1] // scale + 1
        cc0, cc1 = cols[0] // scale, cols[-1] // scale + 1
        window = padded[cr0:cr1 + 2 * w, cc0:cc1 + 2 * w]
        fine = atpk.downscale(window) if atpk is not None else sharpen.repeat_coarse(window, scale)
        fine = fine[rows[0] - cr0 * scale:rows[-1] - cr0 * scale + 1, cols[0] - cc0 * scale:cols[-1] - cc0 * scale + 1]
        # fine pixels past the last whole coarse pixel (none when the fine grid is exactly ×scale)
        return temperature.from_kelvin(sharpen.fine_lst(block[0], fine, a, b, t_ref), units)[np.newaxis]
    res = _engine.run_blockwise(ndvi_fine, output, kernel, out_bands=1, with_position=True, bytes_per_pixel=160,
                                **_fine_layout(units, method, scale), options=opts.part(0.3, 1.0))
    res.update(result)
    return res


def super_resolution_file(source: LstSource | str, output: str, method: str, scale: int, *, model=None,
                          ndvi: str | None = None, options: RunOptions | None = None) -> dict:
    """LST on a grid ``scale`` times finer by one of :data:`METHODS` (the job of ``sarsense:lstsuperresolution``).

    The source is first written in kelvin (a temporary beside ``output``, removed whatever happens),
    then super-resolved: ``unet`` by the multi-residual U-Net of Nguyen et al. (2022) (:func:`unet`),
    ``bicubic`` by Keys' cubic convolution (:func:`bicubic`), ``tsharp``/``atprk`` by TsHARP (Agam et
    al. 2007) or ATPRK (Wang, Shi & Atkinson 2016) from the NDVI (:func:`sharpen_raster`). The output
    is in the source's units.

    Parameters
    ----------
    source : LstSource or str
        The coarse LST.
    output : str
        Float32 GeoTIFF, ``scale``× finer, NaN nodata.
    method : str
        One of :data:`METHODS`.
    scale : int
        Output pixels per input pixel along each axis (the U-Net: its contract's factor).
    model : onnx.Model, optional
        The super-resolution network, for ``unet`` (:func:`check_sr_model` accepts it).
    ndvi : str, optional
        The NDVI on the fine output grid (:func:`fine_ndvi`), for ``tsharp`` and ``atprk``.
    options : RunOptions, optional
        Budget, compression, progress (kelvin copy 5 %, the method the rest) and cancel; one thread.

    Returns
    -------
    dict
        The method's summary (:func:`unet`, :func:`bicubic` or :func:`sharpen_raster`).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "unet" and model is None:
        raise ValueError("the U-Net method needs a model")
    if method in ("tsharp", "atprk") and not ndvi:
        raise ValueError(f"{method} needs the NDVI on the fine grid")
    source = _as_source(source)
    opts = _one_thread(options)
    with _engine.temporary_raster(output, "sarsense_lst_kelvin_") as coarse:
        source.write_kelvin(coarse, options=opts.part(0.0, 0.05))
        rest = opts.part(0.05, 1.0)
        if method == "unet":
            return unet(coarse, output, model, units=source.units, options=rest)
        if method == "bicubic":
            return bicubic(coarse, output, scale, units=source.units, options=rest)
        return sharpen_raster(coarse, ndvi, output, scale, method, units=source.units, options=rest)
