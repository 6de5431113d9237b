"""The real MODIS LST pairs of the LST recipe (training only; GDAL + numpy): the bundled MOD11A1 tiles'
layers as kelvin fields, the paper's cloud-free patches split by spatial blocks, Norm-L4 pairs."""

import numpy as np

from sarsense.algorithms.lst import modis, temperature

from .paths import REPO

# --------------------------------------------------------------------------------------------
# MODIS MOD11A1 pairs (the bundled tiles)
# --------------------------------------------------------------------------------------------
MODIS_DIR = REPO / "resources" / "sample_data" / "modis_lst"
LST_LAYERS = ("LST_Day_1km", "LST_Night_1km")
SR_SCALE = 4
PATCH, PATCH_STRIDE = 64, 16           # the paper's 64×64 1 km patches; overlapping windows for training
SPLIT_BLOCK, SPLIT_MARGIN = 200, 8     # spatial blocks of the split; patches keep 8 px from a block's edge


def modis_fields():
    """[(name, kelvin array)] of every LST layer of the bundled MOD11A1 tiles (no QC filter: all produced LST)."""
    fields = []
    for path in sorted(MODIS_DIR.glob("MOD11A1.*.hdf")):
        for layer in LST_LAYERS:
            sub = f'HDF4_EOS:EOS_GRID:"{path}":MODIS_Grid_Daily_1km_LST:{layer}'
            fields.append((f"{path.name.split('.')[1]}.{path.name.split('.')[2]} {layer}",
                           modis.read_kelvin(sub, qc_filter=False)))
    return fields


def lst_patches(fields, *, seed, test_fraction=0.25, val_fraction=0.15, train_size=PATCH, train_stride=None):
    """The paper's patches (§II.A: cloud-free 64×64 windows of 1 km LST), split by spatial blocks.

    Each field is cut into 200×200 blocks; a patch lies wholly inside one block, at least 8 px
    from its edges, so training and test patches are at least 16 px apart and never touch. Day and
    night layers of a tile share the blocks (the same ground). Whole blocks go to the test part,
    in a seeded order, until it holds ``test_fraction`` of the patches, then to the validation part
    (which picks the epoch) until it holds ``val_fraction``. Training and validation patches overlap
    (stride 16); test patches do not (a greedy pick on the same grid), so every test pixel counts once.

    ``train_size`` < 64 cuts the training and validation blocks into smaller cloud-free windows
    (stride a quarter of the size) instead, in the same blocks: more of them survive the clouds.
    ``train_stride`` sets the training and validation windows' stride instead.

    Returns ``{"train", "val", "test": [...], "blocks": (n_test, n_val, n_blocks_with_patches)}`` with
    entries ``(field, row, col, patch)``.
    """
    def windows(size, stride):
        found = {}
        for name, kelvin in fields:
            c = np.pad(np.isfinite(kelvin), ((1, 0), (1, 0))).cumsum(0).cumsum(1)
            tile = name.split(" ")[0]
            for by in range(0, kelvin.shape[0] - SPLIT_BLOCK + 1, SPLIT_BLOCK):
                for bx in range(0, kelvin.shape[1] - SPLIT_BLOCK + 1, SPLIT_BLOCK):
                    lo, hi = SPLIT_MARGIN, SPLIT_BLOCK - SPLIT_MARGIN - size
                    for y in range(by + lo, by + hi + 1, stride):
                        for x in range(bx + lo, bx + hi + 1, stride):
                            n = c[y + size, x + size] - c[y, x + size] - c[y + size, x] + c[y, x]
                            if n == size * size:
                                found.setdefault((tile, by, bx), []).append((name, y, x,
                                                                             kelvin[y:y + size, x:x + size]))
        return found
    per_block = windows(PATCH, PATCH_STRIDE)
    per_block_train = (per_block if train_size == PATCH and train_stride is None
                       else windows(train_size, train_stride or train_size // 4))
    keys = sorted(per_block)
    order = np.random.default_rng(seed).permutation(len(keys))
    total = sum(len(v) for v in per_block.values())
    test_keys, val_keys, held = set(), set(), 0
    for i in order:
        if held < test_fraction * total:
            test_keys.add(keys[i])
        elif held < (test_fraction + val_fraction) * total:
            val_keys.add(keys[i])
        else:
            break
        held += len(per_block[keys[i]])
    train, val, test = [], [], []
    for key in keys:
        if key not in test_keys:
            (val if key in val_keys else train).extend(per_block_train.get(key, []))
            continue
        taken = []
        for p in sorted(per_block[key], key=lambda e: (e[0], e[1], e[2])):
            if all(p[0] != q[0] or abs(p[1] - q[1]) >= PATCH or abs(p[2] - q[2]) >= PATCH for q in taken):
                taken.append(p)
        test += taken
    return {"train": train, "val": val, "test": test, "blocks": (len(test_keys), len(val_keys), len(keys))}


def lst_pairs(patches):
    """(coarse, truth) kelvin arrays: truth 64×64, coarse its Norm-L4 ×4 aggregate (16×16) (§III.B.3)."""
    truth = np.stack([p[3] for p in patches]).astype(np.float32)
    coarse = np.stack([temperature.norm_l4(t, SR_SCALE) for t in truth])
    return coarse, truth
