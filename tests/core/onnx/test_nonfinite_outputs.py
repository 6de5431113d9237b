"""Issue #28: the runtime counts model outputs that are NaN or ±inf where the input was valid, masks them, and
refuses a model whose outputs are nearly all so (during the run: nothing written)."""

import os

import numpy as np
import pytest
from helpers import read_raster, write_raster
from onnx_models import reciprocal_net
from osgeo import gdal

from sarsense.algorithms import onnx as rt


@pytest.mark.parametrize("spatial", [True, False])
def test_a_few_are_masked_and_counted_where_the_input_was_valid(tmp_path, spatial):
    model = rt.Model(reciprocal_net(tmp_path / "m.onnx", gain=1.0, at=-10.0, spatial=spatial))
    x = np.full((1, 1, 8, 8), -12.0, np.float32) if spatial else np.full((64, 1), -12.0, np.float32)
    flat = x.reshape(-1)
    flat[:3] = -10.0                     # 1 / 0 = +inf
    flat[3] = np.nan                     # nodata: filled (0 → 1/10), not counted
    y = model.predict_tiles(x) if spatial else model.predict_pixels(x)
    assert np.isnan(y.reshape(-1)[:3]).all() and np.isfinite(y.reshape(-1)[3:]).all()
    assert (model.nonfinite, model.outputs) == (3, 63)
    assert "returned NaN or ±inf for 3 of 63" in model.nonfinite_text()
    model.reset_counts()
    assert model.nonfinite_text() == ""


def test_nearly_all_is_refused_during_the_run(tmp_path):
    src = write_raster(tmp_path / "in.tif", np.random.default_rng(0).normal(-13, 3, (100, 100)).astype(np.float32))
    model = rt.Model(reciprocal_net(tmp_path / "inf.onnx", gain=0.0, at=0.0))
    with pytest.raises(rt.ModelError, match=r"returned NaN or ±inf for \d+ of \d+ output values.*nothing was written"):
        rt.apply_model(model, src, str(tmp_path / "out.tif"))
    assert sorted(os.listdir(tmp_path)) == ["in.tif", "inf.onnx"]


def test_the_count_goes_into_the_result_and_the_metadata(tmp_path):
    arr = np.random.default_rng(0).normal(-13, 3, (100, 100)).astype(np.float32)
    arr[arr == -10.0] = -10.5
    arr[5, 5:9] = -10.0
    src = write_raster(tmp_path / "in.tif", arr)
    model = rt.Model(reciprocal_net(tmp_path / "few.onnx", gain=1.0, at=-10.0, spatial=False))
    res = rt.apply_model(model, src, str(tmp_path / "out.tif"))
    assert (res["nonfinite"], res["outputs_checked"]) == (4, 10000)
    assert gdal.Open(str(tmp_path / "out.tif")).GetMetadataItem("SARSENSE_MODEL_NONFINITE") == "4 of 10000"
    assert np.isnan(read_raster(tmp_path / "out.tif")[0]).sum() == 4
