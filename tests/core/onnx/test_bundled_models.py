"""Every bundled model: a card with the required sections and its sha256, a valid contract, a working run."""

import numpy as np
import pytest
from helpers import SAMPLE_DB, read_raster

from sarsense.algorithms import onnx as rt

BUNDLED = sorted(rt.BUNDLED_MODELS_DIR.glob("*.onnx"))
SECTIONS = ("Architecture", "Input contract", "Training data", "Held-out metrics", "Retrain", "sha256")


def test_there_is_a_bundled_model():
    assert BUNDLED, "models/ holds no model"


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_card_is_complete_and_matches_the_file(path):
    card = rt.card_path(path)
    text = card.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f"**{section}**" in text, f"{card.name} lacks '{section}'"
    assert rt.card_sha256(card) == rt.file_sha256(path)
    model = rt.Model(path)
    assert model.contract.name == path.stem
    assert model.contract.training_data in text


def test_example_despeckler_runs_and_reduces_speckle(tmp_path):
    """On the real scene with simulated single-look speckle: the example model gets closer to the scene."""
    from helpers import write_raster
    from osgeo import gdal

    from sarsense.algorithms import sar
    ds = gdal.Open(str(SAMPLE_DB))
    db = read_raster(SAMPLE_DB)[0]
    lin = sar.db_to_linear(db)[0]
    noisy = sar.linear_to_db(lin * np.random.default_rng(0).gamma(1.0, 1.0, lin.shape).astype(np.float32))[0]
    src = write_raster(tmp_path / "noisy.tif", noisy, gt=ds.GetGeoTransform(), epsg=32631)
    model = rt.Model(rt.BUNDLED_MODELS_DIR / "s1_despeckle_example.onnx")
    rt.apply_model(model, src, str(tmp_path / "out.tif"))
    out = read_raster(tmp_path / "out.tif")[0]
    ok = np.isfinite(db)
    assert np.array_equal(np.isfinite(out), ok)
    assert np.mean(np.abs(out - db)[ok]) < 0.5 * np.mean(np.abs(noisy - db)[ok])
