"""The soil_moisture_hybrid card (issue 31): its plausibility section is what the shipped real VV series and the
recipe's simulated samples give, its porosity is the bundled model's bound, its sha256 the bundled file's."""

import json
import re

import numpy as np
import pytest

from sarsense.algorithms import onnx as rt
from sarsense.models.training import soil_moisture_hybrid as recipe

CARD = recipe.MODELS / "soil_moisture_hybrid.md"
MODEL = recipe.MODELS / "soil_moisture_hybrid.onnx"


@pytest.fixture(scope="module")
def card():
    return CARD.read_text(encoding="utf-8")


def test_the_plausibility_table_is_what_the_shipped_data_give(card):
    s, splits = recipe.simulated_samples()
    rows, window, gaps = recipe.plausibility_rows(s, splits["station"])
    table = recipe.plausibility_table(rows)
    assert table in card
    assert gaps in card and f"over {window} consecutive valid dates" in card
    assert len(rows) == 3 and rows[1][1]["series"] > 1000 and rows[2][1]["n"] > 50000   # both real sources read
    # the words say what the numbers say
    for line in recipe._plausibility_text(rows, window).splitlines():
        assert line in card


def test_a_changed_real_series_changes_the_table(monkeypatch):
    s, splits = recipe.simulated_samples()
    before = recipe.plausibility_table(recipe.plausibility_rows(s, splits["station"])[0])
    real = recipe.real_series()
    monkeypatch.setattr(recipe, "real_series", lambda: {k: v + 1.0 for k, v in real.items()})   # 1 dB brighter
    assert recipe.plausibility_table(recipe.plausibility_rows(s, splits["station"])[0]) != before


def test_the_card_states_the_bound_the_model_has(card):
    model = rt.Model(MODEL)
    raw = json.loads(model.session.get_modelmeta().custom_metadata_map["sarsense"])
    porosity = raw["training"]["porosity"]
    assert porosity == recipe.SSM_POROSITY and raw["output"]["range"] == [0.0, porosity]
    assert f"stay in [0, {porosity:g}] m³/m³ whatever the predictors" in card
    assert re.search(r"sha256\*\*: `([0-9a-f]{64})`", card).group(1) == rt.file_sha256(MODEL)
    hybrid_row = next(line for line in card.splitlines() if line.startswith("| CD + ANN hybrid"))
    assert np.isfinite(float(hybrid_row.split("|")[3]))
