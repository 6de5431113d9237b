"""A model's validated scale: the contract's ``validated_input_pixel_m``, the input's pixel size in metres, and
the warning a run gives outside the range (a network trained at one scale and applied at another)."""

import json

import pytest
from onnx_models import contract, conv_net
from osgeo import osr

from sarsense.algorithms import onnx as rt
from sarsense.algorithms.io import raster


def _wkt(epsg=None, proj4=None):
    s = osr.SpatialReference()
    s.ImportFromEPSG(epsg) if epsg else s.ImportFromProj4(proj4)
    return s.ExportToWkt()


def _info(gt, wkt, size=(100, 80)):
    return raster.RasterInfo(path="x.tif", xsize=size[0], ysize=size[1], band_count=1, geotransform=gt,
                             projection=wkt, nodata=(None,), descriptions=("",), dtypes=("Float32",))


SINUSOIDAL = "+proj=sinu +lon_0=0 +x_0=0 +y_0=0 +R=6371007.181 +units=m +no_defs"


def test_pixel_size_in_metres_projected_geographic_and_none():
    assert raster.pixel_size_m(_info((500000, 70, 0, 3.8e6, 0, -70), _wkt(32611))) == (70, 70)
    # MODIS sinusoidal: the grid's nominal 926.6 m
    x, y = raster.pixel_size_m(_info((-1e6, 926.625433, 0, 1e6, 0, -926.625433), _wkt(proj4=SINUSOIDAL)))
    assert x == pytest.approx(926.625433) and y == pytest.approx(926.625433)
    # ECOSTRESS's 0.00063° at 34° N (the centre of this grid): 70.2 m north-south, 58.2 m east-west
    gt = (-118.7, 0.000631260210156, 0, 34.0 + 40 * 0.000631260210156, 0, -0.000631260210156)
    x, y = raster.pixel_size_m(_info(gt, _wkt(4326)))
    assert y == pytest.approx(70.19, abs=0.02) and x == pytest.approx(58.19, abs=0.02)
    assert raster.pixel_size_m(_info((0, 1, 0, 0, 0, -1), "")) is None
    assert raster.pixel_size_text(_info((0, 1, 0, 0, 0, -1), "")) == "Input pixel size: unknown (the input has no CRS)"
    # US survey feet are converted
    x, _ = raster.pixel_size_m(_info((0, 100, 0, 0, 0, -100), _wkt(2229)))
    assert x == pytest.approx(30.48, abs=0.01)


def _model(tmp_path, validated=None):
    extra = {"validated_input_pixel_m": validated} if validated is not None else {}
    c = contract(task="image_regression", inputs=[{"name": "LST", "units": "K"}],
                 normalisation={"method": "offset_scale", "offset": [0.0], "scale": [1.0]}, **extra)
    return rt.Model(conv_net(tmp_path / "m.onnx", channels=1, contract_dict=c))


def test_scale_notice_inside_outside_and_unknown(tmp_path):
    model = _model(tmp_path, [250, 1100])
    assert model.contract.validated_pixel_m == (250.0, 1100.0)
    modis = _info((-1e6, 926.6, 0, 1e6, 0, -926.6), _wkt(proj4=SINUSOIDAL))
    line, warning = model.scale_notice(modis)
    assert line == "Input pixel size: 926.6 × 926.6 m (the model was validated on inputs of 250–1100 m)"
    assert warning == ""
    line, warning = model.scale_notice(_info((500000, 100, 0, 3.8e6, 0, -100), _wkt(32611)))   # Landsat TIRS
    assert "100.0 × 100.0 m" in line
    assert "(100 m) are outside the 250–1100 m on which test-net was validated" in warning
    assert "applied at another" in warning
    _, warning = model.scale_notice(_info((0, 1, 0, 0, 0, -1), ""))
    assert "no CRS" in warning
    # a model whose contract does not say: the size is logged, nothing is warned
    (tmp_path / "p").mkdir()
    plain = _model(tmp_path / "p", None)
    line, warning = plain.scale_notice(modis)
    assert line == "Input pixel size: 926.6 × 926.6 m" and warning == ""


@pytest.mark.parametrize("bad", [[250], [1100, 250], [0, 10], "250-1100", [250, float("inf")], [True, 10]])
def test_invalid_validated_range_is_refused(tmp_path, bad):
    c = contract(task="image_regression", validated_input_pixel_m=bad)
    path = conv_net(tmp_path / "bad.onnx", contract_dict=json.dumps(c), check=False)
    with pytest.raises(rt.ModelError, match="validated_input_pixel_m must be"):
        rt.Model(path)


def test_validated_range_is_only_for_image_models():
    c = contract(task="per_pixel_regression", tiling=None, validated_input_pixel_m=[10, 20])
    with pytest.raises(rt.ModelError, match="validated_input_pixel_m is only for image models"):
        rt.parse_contract(json.dumps(c))
