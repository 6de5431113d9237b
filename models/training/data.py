"""Data-loader base for training: patches from arrays or rasters, seeded splits and batches (numpy + GDAL)."""

from __future__ import annotations

import numpy as np


class PatchDataset:
    """Base of every training set: ``len`` and ``pair(i) -> (x, y)`` as float32 arrays.

    ``x`` is the *normalised* network input (channels, rows, cols) or (channels,)
    and ``y`` the target the loss compares with. Subclasses say where the pairs
    come from and must name that data in :attr:`source` (it goes into the model
    card and the contract's ``training.data``).
    """

    source = "unnamed"

    def __len__(self):
        raise NotImplementedError

    def pair(self, i):
        raise NotImplementedError

    def batches(self, indices, batch_size, *, rng=None, augment=False):
        """Yield ``(x, y)`` batches over ``indices`` (shuffled with ``rng`` when given).

        ``augment``: True or ``"flips"`` flips a batch left-right and up-down, each with probability
        ½; ``"dihedral"`` also transposes it with probability ½ (square patches): the eight
        symmetries of the square, which Keys' kernel and a block aggregation commute with.
        """
        order = np.array(indices)
        if rng is not None:
            order = rng.permutation(order)
        for start in range(0, len(order), batch_size):
            xs, ys = zip(*(self.pair(int(i)) for i in order[start:start + batch_size]))
            x, y = np.stack(xs), np.stack(ys)
            if augment and rng is not None and x.ndim == 4:
                if rng.random() < 0.5:
                    x, y = x[..., ::-1], y[..., ::-1]
                if rng.random() < 0.5:
                    x, y = x[..., ::-1, :], y[..., ::-1, :]
                if augment == "dihedral" and rng.random() < 0.5:
                    x, y = np.swapaxes(x, -1, -2), np.swapaxes(y, -1, -2)
            yield np.ascontiguousarray(x, np.float32), np.ascontiguousarray(y, np.float32)


class ArrayPatches(PatchDataset):
    """Pairs held in two arrays (already patched and normalised)."""

    def __init__(self, x, y, source):
        if len(x) != len(y):
            raise ValueError(f"{len(x)} inputs but {len(y)} targets")
        if len(x) == 0:
            raise ValueError("empty training set")
        self.x, self.y, self.source = np.asarray(x, np.float32), np.asarray(y, np.float32), source

    def __len__(self):
        return len(self.x)

    def pair(self, i):
        return self.x[i], self.y[i]


def split(n, *, val_fraction, seed):
    """Seeded train/validation index split; the validation part is never empty when n >= 2."""
    if n < 2:
        raise ValueError(f"need at least two samples to split, got {n}")
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(n - 1, max(1, int(round(n * val_fraction))))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def patches_from_raster(path, *, size, stride=None, band=1, max_nan_fraction=0.0):
    """Cut a raster band into (n, size, size) float32 patches, dropping those with too much nodata."""
    from osgeo import gdal

    ds = gdal.Open(str(path))
    if ds is None:
        raise ValueError(f"cannot open '{path}'")
    b = ds.GetRasterBand(band)
    arr = b.ReadAsArray().astype(np.float32)
    nodata = b.GetNoDataValue()
    if nodata is not None:
        arr[arr == np.float32(nodata)] = np.nan
    stride = stride or size
    out = []
    for y in range(0, arr.shape[0] - size + 1, stride):
        for x in range(0, arr.shape[1] - size + 1, stride):
            p = arr[y:y + size, x:x + size]
            if np.mean(~np.isfinite(p)) <= max_nan_fraction:
                out.append(p)
    return np.stack(out) if out else np.zeros((0, size, size), np.float32)
