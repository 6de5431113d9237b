"""Many Sentinel-1 GRD products → one dated stack per polarisation on one map grid, in one pass (issue #32).

A month of GRDs over a region becomes the time series the soil-moisture and crop suites read, without one file per
product in between: every product is prepared for one map grid (:func:`~.importer.prepare`), the union of their
footprints in one CRS at one pixel size (or the extent asked for), and the block engine walks that grid once; each
window is sampled from every product that covers it (:meth:`~.importer.Scene.values`: the same calibration,
noise removal and geocoding as :func:`~.importer.import_grd`, so a product's band is what its own import writes
there). On a Dask cluster the windows, with every product of each, are the cluster's tasks.

**One date per pass.** Products of one platform, relative orbit and pass on one day are consecutive slices of one
pass: they are mosaicked into one band (where slices overlap, the earlier slice's pixel, backscatter and incidence
together). Passes of different orbits, or on different days, are different dates of the series (each band keeps its
``RELATIVE_ORBIT`` and ``ORBIT_PASS``, which change detection splits the series by). Each band's ``DATE`` is its
first slice's start (UTC, to the second), its description the day.
"""

from __future__ import annotations

import numpy as np

from ..io import engine as _engine
from ..io.dates import series_refusal
from ..io.options import RunOptions
from . import importer
from .importer import MapGrid, SceneError


def union_grid(grids: list) -> MapGrid:
    """The grid covering every one of ``grids`` (aligned grids of one CRS and pixel size,
    :func:`~.importer.map_grid`)."""
    first = grids[0]
    ps = first.geotransform[1]
    x0 = min(g.geotransform[0] for g in grids)
    y1 = max(g.geotransform[3] for g in grids)
    x1 = max(g.geotransform[0] + g.xsize * ps for g in grids)
    y0 = min(g.geotransform[3] - g.ysize * ps for g in grids)
    return MapGrid(round((x1 - x0) / ps), round((y1 - y0) / ps), (x0, ps, 0.0, y1, 0.0, -ps), first.wkt)


def passes(products: list) -> list:
    """``products`` grouped into passes (one date each), in time order: ``[[product, …], …]``, the slices of each
    pass in time order. A pass: one platform, relative orbit and orbit direction on one day (UTC)."""
    def key(p):
        acq = importer.acquisition(p)
        return (p.start[:10], acq.get("PLATFORM", p.mission), acq.get("RELATIVE_ORBIT", ""), acq.get("ORBIT_PASS", ""))

    groups = {}
    for p in sorted(products, key=lambda p: p.start):
        groups.setdefault(key(p), []).append(p)
    return sorted(groups.values(), key=lambda g: g[0].start)


def import_series(products: list, outputs: dict, *, incidence: str | None = None, calibration: str = "sigma0",
                  thermal_noise: bool = True, border_noise: bool = True, crs: str | None = None,
                  pixel_size: float | None = None, extent: tuple | None = None, dem: str | None = None,
                  db: bool = False, options: RunOptions | None = None) -> dict:
    """Write ``outputs`` (``{polarisation: path}``): each a dated stack of that polarisation, one band per pass
    (:func:`passes`), and ``incidence`` (a path, optional) the incidence angle of each pass, all on one grid.

    The other parameters as :func:`~.importer.import_grd`'s; ``crs`` default the UTM zone of the first product's
    centre, ``pixel_size`` default the products' mode's (products of different modes need one given). Every product
    must carry every polarisation asked for. Returns ``{"grid": MapGrid, "dates": [...], "passes": [[names]],
    "products": {name: counts as import_grd's}, "blocks": n}``.
    """
    if not products:
        raise ValueError("no Sentinel-1 product given")
    if not outputs:
        raise ValueError("no output polarisation given")
    pols = [p.upper() for p in outputs]
    names = [p.name for p in products]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"the product {twice[0]} is given twice; give each product once")
    modes = sorted({p.mode for p in products})
    if pixel_size is None and len({importer.PIXEL_SIZE.get(m, 10.0) for m in modes}) > 1:
        raise ValueError(f"the products are of several modes ({', '.join(modes)}) with different default pixel sizes: "
                         "give the pixel size (PIXEL_SIZE)")
    for p in products:
        importer.select_polarisations(p, pols)
    if crs is None:
        crs = importer.scene_crs(products[0], pols[0])
    own = []
    for p in products:
        try:
            own.append(importer.scene_grid(p, pols[0], crs, pixel_size, extent, dem))
        except SceneError as err:
            raise SceneError(f"{p.name}: {err}") from None
    grid = union_grid(own)
    groups = passes(products)
    scenes = {p.name: importer.prepare(p, pols, calibration=calibration, thermal_noise=thermal_noise,
                                       border_noise=border_noise, crs=crs, pixel_size=pixel_size, extent=extent,
                                       dem=dem, db=db, grid=grid) for p in products}
    n_pol = len(pols)
    layout = [_pass_layout(g, scenes) for g in groups]
    dates = [d for d, _, _ in layout]
    reason = series_refusal(dates, [(t, t) for _, t, _ in layout], [m[0] for _, _, m in layout],
                            label="the products", names=[g[0].name for g in groups])
    if reason:
        raise ValueError(reason)
    paths = [outputs[p] for p in outputs] + ([incidence] if incidence else [])
    # per output band: a pass's bands of one polarisation (or the incidence) in pass order
    out_meta = [[m[b] for _, _, m in layout] for b in range(n_pol)] + ([[m[-1] for _, _, m in layout]]
                                                                        if incidence else [])
    common = _common([s.band_layout()[2] for s in scenes.values()])
    n_dates = len(groups)

    def kernel(win):
        stacks = [np.full((n_dates, win.h, win.w), np.nan, np.float32) for _ in range(n_pol + 1)]
        for d, group in enumerate(groups):
            done = None
            for p in group:
                v = scenes[p.name].values(win)
                take = np.isfinite(v[:n_pol]).any(axis=0)
                if done is not None:
                    take &= ~done
                for b in range(n_pol + 1):
                    stacks[b][d][take] = v[b][take]
                done = take if done is None else done | take
        return stacks[:n_pol] + ([stacks[-1]] if incidence else [])

    # per output pixel and band: one product's working memory at a time, spread over the bands, and the stacks
    per_band = max(s.bytes_per_pixel * (n_pol + 1) for s in scenes.values()) / (n_dates * len(paths)) + 8.0
    res = _engine.run_on_grid(paths, kernel, inputs=[f for s in scenes.values() for f in s.inputs],
                              xsize=grid.xsize, ysize=grid.ysize, geotransform=grid.geotransform, projection=grid.wkt,
                              out_bands=[n_dates] * len(paths), descriptions=[dates] * len(paths),
                              band_metadata=out_meta, metadata=common, bytes_per_pixel=per_band, options=options)
    return {"grid": grid, "dates": dates, "passes": [[p.name for p in g] for g in groups],
            "products": {n: s.summary() for n, s in scenes.items()}, "blocks": res["blocks"]}


def _pass_layout(group, scenes):
    """``(day, start time, [metadata of each band])`` of a pass: its first slice's acquisition, the products named."""
    first = scenes[group[0].name]
    _, meta, file_meta = first.band_layout()
    start = file_meta["DATE"]
    products = " + ".join(p.name for p in group)
    return start[:10], start, [{**m, "DATE": start, "PRODUCT": products} for m in meta]


def _common(metas):
    """The dataset metadata every product's import agrees on (mission, mode, calibration, geocoding …), no date."""
    first = metas[0]
    return {k: v for k, v in first.items()
            if k not in ("DATE", "PRODUCT") and all(m.get(k) == v for m in metas[1:])}
