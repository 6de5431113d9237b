"""A model applied to rasters, block by block: per-pixel models through the block engine, image models in
overlapping tiles (:func:`~sarsense.algorithms.io.engine.run_tiled`), class maps with their extra outputs."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence

import numpy as np
from osgeo import gdal

from ..io import engine as _engine
from ..io import raster as _raster
from ..io.engine import tiles as _tiles
from ..io.options import RunOptions, resolve
from .contract import ModelClass, ModelError, halo_warnings
from .session import Model


def class_map_finish(classes: Sequence[ModelClass]) -> Callable:
    """The tiled engine's ``finish`` for a segmentation model: blended scores to class values (argmax), 255
    where the input was not valid. :func:`apply_model` uses it; the bench's torch peer uses the same."""
    values = np.asarray([c.value for c in classes], np.uint8)

    def finish(probabilities, valid):
        out = values[np.argmax(probabilities, axis=0)]
        # a pixel whose scores the model gave as NaN (the runtime masks ±inf so) has no class
        out[~(valid & np.all(np.isfinite(probabilities), axis=0))] = _raster.CLASS_NODATA
        return out[np.newaxis]
    return finish


def record_nonfinite(model: Model, result: dict, paths) -> dict:
    """Put the run's count of non-finite model outputs (:meth:`Model.nonfinite_text`, masked to NaN) in
    ``result`` (``nonfinite``, ``outputs_checked``) and, where there were any, in the metadata of the written
    ``paths`` (``SARSENSE_MODEL_NONFINITE``: 'n of total'), so that the output says it beside the log."""
    result["nonfinite"], result["outputs_checked"] = model.nonfinite, model.outputs
    if model.nonfinite:
        for path in paths:
            ds = gdal.Open(str(path), gdal.GA_Update)
            ds.SetMetadataItem("SARSENSE_MODEL_NONFINITE", f"{model.nonfinite} of {model.outputs}")
            ds = None
    return result


def output_layout(contract):
    """Band descriptions, per-band metadata and data type of a model's output raster."""
    c = contract
    if c.task == "segmentation":
        meta = {"classes": json.dumps([{"value": k.value, "name": k.name, "color": k.color} for k in c.classes])}
        return [f"{c.name} class"], [meta], np.uint8
    return list(c.output_names), [{"units": c.output_units, "QUANTITY": n} for n in c.output_names], np.float32


def _probabilities(values, valid):
    return np.where(valid[np.newaxis], values, np.float32(np.nan)).astype(np.float32, copy=False)


def _expectation(classes):
    quantities = np.asarray([c.quantity for c in classes], np.float32)

    def finish(probabilities, valid):
        out = np.tensordot(quantities, probabilities, axes=(0, 0)).astype(np.float32)
        out /= probabilities.sum(axis=0)        # blended probabilities sum to one; exactly so after this
        out[~valid] = np.nan
        return out[np.newaxis]
    return finish


def extra_outputs(contract, *, probabilities=None, expectation=None):
    """The optional outputs of a segmentation model beside its class map (:class:`io.tiles.ExtraOutput`):
    one float32 band per class with its probability, and/or the probability-weighted mean of the classes'
    quantities (``Σ p_k q_k``; the contract's ``output.expectation`` names it and its units)."""
    c = contract
    extras = []
    if (probabilities or expectation) and c.task != "segmentation":
        raise ModelError(f"model '{c.name}' is a {c.task} model: class probabilities and their expectation "
                         "exist only for segmentation models")
    if (probabilities or expectation) and c.activation != "softmax":
        raise ModelError(f"model '{c.name}' returns class scores, not probabilities (output.activation is "
                         f"'{c.activation}'): probabilities and their expectation need 'softmax'")
    if probabilities:
        extras.append(_tiles.ExtraOutput(
            probabilities, _probabilities, len(c.classes), np.float32,
            tuple(f"probability of {k.name}" for k in c.classes), tuple({"units": "probability"} for _ in c.classes)))
    if expectation:
        if not c.expectation:
            raise ModelError(f"model '{c.name}' gives its classes no quantities (contract output.expectation), "
                             "so no expected value can be computed; write the class map only")
        extras.append(_tiles.ExtraOutput(expectation, _expectation(c.classes), 1, np.float32,
                                         (c.expectation[0],), ({"units": c.expectation[1]},)))
    return extras


def apply_model(model: Model, inputs, output: str, *, tile: int | None = None, halo: int | None = None,
                blend: int | None = None, batch: int = 4, probabilities: str | None = None,
                expectation: str | None = None, label: str = "INPUT", options: RunOptions | None = None) -> dict:
    """Run ``model`` (a :class:`Model`) over ``inputs`` and write ``output``, block by block.

    Image models run in overlapping tiles blended by :func:`io.tiles.run_tiled`
    (tile and halo default to the contract's); pixel models (``regression``) run
    on blocks of pixels. NaN/nodata inputs are filled for the network
    (``nodata_fill``) and masked again in the output: NaN for values, 255 for classes.

    A segmentation model can also write, beside its class map, its class ``probabilities`` (one
    float32 band per class) and their ``expectation`` (:func:`extra_outputs`), both from the same
    blended probabilities as the class map.

    ``options`` (:class:`RunOptions`: budget, compression, progress, cancel) go to the engine; ``label`` names the
    input in messages (the input's band count and units are checked against the contract first).

    Model outputs that come out NaN or ±inf are written as NaN and counted (``nonfinite`` of
    ``outputs_checked``, also in the outputs' metadata: :func:`record_nonfinite`); a model whose outputs are
    nearly all so is refused during the run, nothing written (:meth:`Model._screen`).

    Returns the engine's summary dict plus ``model`` (name, version, sha256), ``nonfinite`` and
    ``outputs_checked``, and, for image models, the tiling actually used (``tile``, ``halo``, ``blend``) and
    ``warnings``.
    """
    c = model.contract
    extras = extra_outputs(c, probabilities=probabilities, expectation=expectation)
    model.reset_counts()
    stack = _engine.RasterStack(inputs)
    model.check_input(stack.band_count, label=label)
    if len(stack.paths) == 1:
        model.check_units(stack.paths[0], label=label)
    descriptions, band_meta, dtype = output_layout(c)
    # a demonstration model's outputs say so in every band description (QGIS's legend title) and in the file's
    # metadata, read back by the reports that score them (the model card's Status, cards.Card)
    descriptions = [model.card.label(d) for d in descriptions]
    extras = [dataclasses.replace(e, descriptions=tuple(model.card.label(d) for d in e.descriptions)) for e in extras]
    metadata = {"SARSENSE_MODEL": c.name, "SARSENSE_MODEL_VERSION": c.version, "SARSENSE_MODEL_SHA256": model.sha256,
                "SARSENSE_MODEL_TASK": c.task, **model.card.metadata()}
    # one block at a time: onnxruntime's session already uses the cores (threads in Model)
    # the outputs are not the input channels: they inherit what every channel agrees on (date, mission …)
    common = dict(descriptions=descriptions, band_metadata=band_meta, metadata=metadata, inherit="common",
                  options=resolve(options).replace(workers=1))
    if not c.spatial:
        def kernel(block):
            bands, rows, cols = block.shape
            pixels = block.reshape(bands, -1).T
            valid = np.all(np.isfinite(pixels), axis=1)
            out = np.full((rows * cols, c.n_outputs), np.nan, np.float32)
            step = max(1, int(batch) * 65536)
            idx = np.flatnonzero(valid)
            for i in range(0, idx.size, step):
                sel = idx[i:i + step]
                out[sel] = model.predict_pixels(pixels[sel])
            return out.T.reshape(c.n_outputs, rows, cols)
        res = _engine.run_blockwise(stack.paths, output, kernel, out_bands=c.n_outputs, out_dtype=dtype,
                                    bytes_per_pixel=16 + 8 * c.n_outputs, **common)
    else:
        tile = c.tile_size if tile is None else int(tile)
        if model.fixed_size and tile != c.tile_size:
            raise ModelError(f"model '{c.name}' only takes {c.tile_size}×{c.tile_size} tiles; tile size {tile} "
                             "cannot be used")
        halo = c.halo if halo is None else int(halo)
        warnings = halo_warnings(c, halo)
        finish = class_map_finish(c.classes) if c.task == "segmentation" else None
        res = _tiles.run_tiled(stack.paths, output, model.predict_tiles, tile=tile, margin=halo, blend=blend,
                               out_bands=c.n_outputs, scale=c.scale_factor, multiple=c.size_multiple,
                               fixed_size=model.fixed_size, batch=batch, finish=finish,
                               predict_bytes_per_pixel=c.memory_per_pixel, extra_outputs=extras,
                               final_bands=len(descriptions), out_dtype=dtype, **common)
        res["warnings"] = warnings
    res["model"] = {"name": c.name, "version": c.version, "sha256": model.sha256, "status": model.card.status}
    return record_nonfinite(model, res, [output] + [e.path for e in extras])
