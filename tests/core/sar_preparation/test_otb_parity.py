"""Lee, Frost, Gamma-MAP and Kuan against OTB 8.1's otbcli_Despeckle on the real Camargue scene."""

import shutil
import subprocess

import numpy as np
import pytest
from helpers import read_raster

from sarsense.algorithms.sar import speckle

OTB = shutil.which("otbcli_Despeckle")
pytestmark = [pytest.mark.otb, pytest.mark.skipif(OTB is None, reason="OTB (Debian otb-bin) is not installed")]


@pytest.mark.parametrize("name", ["lee", "frost", "gammamap", "kuan"])
@pytest.mark.parametrize("size,looks", [(5, 1.0), (7, 4.4)])
def test_mean_abs_relative_difference_below_one_percent(tmp_path, sample_linear, name, size, looks):
    out = tmp_path / f"otb_{name}.tif"
    cmd = [OTB, "-in", sample_linear, "-out", str(out), "float", "-filter", name, f"-filter.{name}.rad", str(size // 2)]
    cmd += [f"-filter.{name}.deramp", "2"] if name == "frost" else [f"-filter.{name}.nblooks", str(looks)]
    subprocess.run(cmd, check=True, capture_output=True)
    ref = read_raster(out)[0]
    ours = speckle.apply(name, read_raster(sample_linear)[0], size=size, looks=looks, damping=2.0)
    mard = np.mean(np.abs(ours - ref) / np.abs(ref))
    assert mard < 0.01
    # in fact the definitions are the same: float32 rounding is all that differs
    assert mard < 1e-5
