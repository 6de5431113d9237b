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


# --- the card's machine-readable fields (issue #27: a demonstration model says so wherever its output goes) ----
SIMULATED = {"sea_ice_concentration", "s1_despeckle_example", "soil_moisture_hybrid"}


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_every_card_states_its_status_and_what_it_was_trained_on(path):
    card = rt.read_card(path)
    assert card.status in rt.CARD_STATUSES and card.trained_on
    # trained on simulated data (or simulated speckle): a demonstration, and the model says so
    assert card.demonstration == (path.stem in SIMULATED)
    model = rt.Model(path)
    assert model.card == card and card.trained_on in model.describe()
    assert ("DEMONSTRATION" in model.demonstration_notice()) == card.demonstration


def test_a_card_status_is_read_from_its_line_not_from_the_text(tmp_path, monkeypatch):
    from onnx_models import conv_net
    path = conv_net(tmp_path / "net.onnx")
    card = tmp_path / "net.md"
    card.write_text("# net\n\nA demonstration of nothing.\n")           # the word in prose is not a status
    assert rt.read_card(path) == rt.Card(path=str(card))
    card.write_text("# net\n\n- **Status**: demonstration (simulated)\n- **Trained on**: noise, seed 1\n")
    got = rt.read_card(path)
    assert got.demonstration and got.trained_on == "noise, seed 1"
    assert got.label("Model output") == "Model output (demonstration model)"
    assert got.metadata() == {"SARSENSE_MODEL_STATUS": "demonstration", "SARSENSE_MODEL_TRAINED_ON": "noise, seed 1"}
    card.write_text("# net\n\n- **Status**: production\n")
    with pytest.raises(rt.ModelError, match="Status line says one of demonstration, research"):
        rt.read_card(path)
    # a bundled model's card must have both lines
    card.write_text("# net\n\n- **Trained on**: noise\n")
    monkeypatch.setattr(rt.cards, "BUNDLED_MODELS_DIR", tmp_path.resolve())
    with pytest.raises(rt.ModelError, match="lacks its"):
        rt.read_card(path)


def test_a_demonstration_models_outputs_carry_the_word(tmp_path):
    """The shared runtime writes it into every band description (QGIS's legend title) and the file's metadata."""
    from helpers import write_raster
    from osgeo import gdal
    model = rt.Model(rt.BUNDLED_MODELS_DIR / "sea_ice_concentration.onnx")
    hh = np.random.default_rng(0).uniform(-25, -5, (2, 64, 64)).astype(np.float32)
    src = write_raster(tmp_path / "in.tif", hh)
    rt.apply_model(model, src, str(tmp_path / "sic.tif"), expectation=str(tmp_path / "e.tif"))
    for name in ("sic.tif", "e.tif"):
        ds = gdal.Open(str(tmp_path / name))
        assert ds.GetRasterBand(1).GetDescription().endswith("(demonstration model)")
        assert ds.GetMetadataItem("SARSENSE_MODEL_STATUS") == "demonstration"
        assert "simulated" in ds.GetMetadataItem("SARSENSE_MODEL_TRAINED_ON")


def test_the_sea_ice_cards_held_out_figures_are_recomputed_from_the_shipped_file():
    """The command the card gives (models/training/check_sea_ice_card.py) gives the card's numbers."""
    from sarsense.models.training import check_sea_ice_card as check
    assert check.main() == 0
    card = check.card_figures()
    assert card["r2"] == pytest.approx(0.8888) and min(card["r2_per_scene"]) < 0 < card["fresh"]["r2"] < 0.5
    assert "check_sea_ice_card" in (rt.BUNDLED_MODELS_DIR / "sea_ice_concentration.md").read_text(encoding="utf-8")


def test_the_soil_moisture_demonstration_maps_dates_say_so_and_still_parse(tmp_path):
    """The hybrid's bands: the date, then '(demonstration model)' (the legend title); the dates still read back."""
    from helpers import write_raster

    from sarsense.algorithms.io import stack
    from sarsense.algorithms.soil_moisture import hybrid
    model = rt.Model(rt.BUNDLED_MODELS_DIR / "soil_moisture_hybrid.onnx", threads=1)
    dates = ["2016-04-05", "2016-04-17"]
    level = [-12, 0.5, 38, 2, 0.5, -7, 0.25]
    paths = [write_raster(tmp_path / f"p{i}.tif", np.full((2, 16, 16), v, np.float32), descriptions=dates)
             for i, v in enumerate(level)]
    out = str(tmp_path / "ssm.tif")
    hybrid.map_soil_moisture(model, [[(p, d + 1) for p in paths] for d in range(2)], dates, out)
    from osgeo import gdal
    ds = gdal.Open(out)
    assert [ds.GetRasterBand(b + 1).GetDescription() for b in range(2)] == [f"{d} (demonstration model)"
                                                                             for d in dates]
    assert ds.GetMetadataItem("SARSENSE_MODEL_STATUS") == "demonstration"
    ds = None
    assert stack.band_dates(out) == dates
