"""Frozen soil and snow (issue #29): the temperature CSV and raster read, and the screen applied before the
change-detection references are formed (a frozen date no longer sets the dry reference)."""

import datetime as dt

import numpy as np
import pytest
from helpers import read_raster, write_raster

from sarsense.algorithms.io.raster import read_class_table
from sarsense.algorithms.soil_moisture import change_detection as cd
from sarsense.algorithms.soil_moisture import frozen
from sarsense.algorithms.soil_moisture.series import SeriesOptions

DATES = [(dt.date(2018, 12, 1) + dt.timedelta(days=6 * i)).isoformat() for i in range(8)]
FROZEN_DAYS = (2, 5)        # a −3.4 °C day and a snow day


def series(shape=(3, 4)):
    """A winter VV series (dB): wet-dry changes of a few dB, and the frozen dates 3 dB below the driest one."""
    vv = np.array([-11.0, -12.5, -12.0, -10.0, -13.0, -11.5, -12.0, -10.5], np.float32)
    vv[list(FROZEN_DAYS)] = -16.0
    return np.broadcast_to(vv[:, None, None], (len(DATES), *shape)).copy()


def csv_file(path, rows, header="date,t2m"):
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return str(path)


def test_csv_in_kelvin_hourly_rows_become_daily_means_in_celsius(tmp_path):
    rows = []
    for d in DATES[:3]:
        for h, k in ((0, 270.15), (12, 276.15)):       # a daily mean of 273.15 K = 0 °C
            rows.append(f"{d}T{h:02d}:00:00,{k}")
    t = frozen.read_temperature_csv(csv_file(tmp_path / "t.csv", rows))
    assert t.unit == "K" and t.column == "t2m" and t.rows == 6
    assert list(t.daily) == DATES[:3] and all(v == pytest.approx(0.0) for v in t.daily.values())


def test_csv_in_celsius_by_name_and_the_mean_of_several_columns(tmp_path):
    # AgERA5: several temperature columns; the mean one is taken, °C by its values; ';' separated
    rows = [f"{d};{-5 + i};{-1 + i};{3 + i};1.2" for i, d in enumerate(DATES)]
    path = csv_file(tmp_path / "ag.csv", rows, "Day;Temperature_Air_2m_Min_24h;Temperature_Air_2m_Mean_24h;"
                                               "Temperature_Air_2m_Max_24h;Precipitation_Flux")
    t = frozen.read_temperature_csv(path)
    assert t.column == "Temperature_Air_2m_Mean_24h" and t.unit == "°C"
    assert t.daily[DATES[0]] == pytest.approx(-1.0) and t.daily[DATES[3]] == pytest.approx(2.0)


def test_missing_dates_are_unknown_and_never_screened(tmp_path):
    rows = [f"{d},{-3.4 if i in FROZEN_DAYS else 4.0}" for i, d in enumerate(DATES) if i != 6]
    screen = frozen.screen_from_table(frozen.read_temperature_csv(csv_file(tmp_path / "t.csv", rows)), DATES)
    assert screen.flags == (0, 0, 1, 0, 0, 1, 255, 0) and screen.unknown == (DATES[6],)
    # the threshold: 5 °C makes every known date frozen
    screen = frozen.screen_from_table(frozen.read_temperature_csv(tmp_path / "t.csv"), DATES, below_c=5.0)
    assert screen.flags == (1, 1, 1, 1, 1, 1, 255, 1)


@pytest.mark.parametrize("header, rows, match", [
    ("t2m,u10", ["1.0,2.0", "3.0,4.0"], "no date column"),
    ("date,station", ["2018-12-01,abc", "2018-12-07,def"], "no numeric temperature column"),
    ("date,t2m", ["2018-12-01,-120", "2018-12-07,3"], "no air or surface temperature"),
    ("date,t2m_K", ["2018-12-01,12.5", "2018-12-07,3"], "its name says K"),
    ("date,t2m", ["2018-12-01,400", "2018-12-07,410"], "values 400 … 410"),
    ("date,tmin,tmax", ["2018-12-01,1,5", "2018-12-07,2,6"], "several numeric columns"),
])
def test_bad_csv_is_refused_with_what_is_wrong(tmp_path, header, rows, match):
    with pytest.raises(ValueError, match=match):
        frozen.read_temperature_csv(csv_file(tmp_path / "bad.csv", rows, header))


def test_a_frozen_date_no_longer_sets_the_dry_reference(tmp_path):
    vv = series()
    stack = write_raster(tmp_path / "vv.tif", vv, descriptions=DATES)
    plain = [str(tmp_path / f"{k}0.tif") for k in "is"]
    cd.change_detection_file(stack, *plain, dates=DATES, min_dates=3)
    ssm0 = read_raster(plain[1])
    # without the screen the frozen dates are the driest: SSM_min (0.05) on both
    assert ssm0[list(FROZEN_DAYS), 0, 0] == pytest.approx([0.05, 0.05])
    rows = [f"{d},{-3.4 if i in FROZEN_DAYS else 2.0}" for i, d in enumerate(DATES)]
    screen = frozen.screen_from_table(frozen.read_temperature_csv(csv_file(tmp_path / "t.csv", rows)), DATES,
                                      source="t.csv", output=str(tmp_path / "flags.tif"))
    outs = [str(tmp_path / f"{k}1.tif") for k in "isd"]
    c = cd.change_detection_file(stack, outs[0], outs[1], output_dvv=outs[2], dates=DATES, min_dates=3,
                                 series=SeriesOptions(frozen=screen))
    assert c["frozen"] == 2 * 12
    idx, ssm, dvv = (read_raster(p) for p in outs)
    assert np.isnan(ssm[list(FROZEN_DAYS)]).all() and np.isnan(dvv[list(FROZEN_DAYS)]).all()
    # the dry reference is now the driest unfrozen date (−13 dB, date 4), the wet one unchanged (−10 dB)
    assert idx[4, 0, 0] == pytest.approx(0.0) and idx[3, 0, 0] == pytest.approx(1.0)
    assert idx[0, 0, 0] == pytest.approx((-11.0 + 13.0) / 3.0) and dvv[0, 0, 0] == pytest.approx(2.0)
    flags = read_raster(tmp_path / "flags.tif")
    assert flags[:, 0, 0].tolist() == [0, 0, 1, 0, 0, 1, 0, 0]
    assert [c["name"] for c in read_class_table(str(tmp_path / "flags.tif"), 3)] == ["not frozen",
                                                                                   "frozen or snow (screened)"]
    from osgeo import gdal
    assert "below 0 °C from t.csv" in gdal.Open(outs[1]).GetMetadataItem("FROZEN_SCREEN")
    assert "not screened" in gdal.Open(plain[1]).GetMetadataItem("FROZEN_SCREEN")


def test_raster_temperature_screens_pixel_by_pixel_on_another_grid(tmp_path):
    vv = series((4, 4))
    stack = write_raster(tmp_path / "vv.tif", vv, descriptions=DATES)
    # a coarser K stack (40 m on the 20 m stack's grid), one date missing; left column of pixels frozen on day 2
    t = np.full((len(DATES) - 1, 2, 2), 276.0, np.float32)
    t[2, :, 0] = 268.0
    t_dates = DATES[:6] + DATES[7:]
    temp = write_raster(tmp_path / "t.tif", t, gt=(600000.0, 40.0, 0.0, 4800000.0, 0.0, -40.0), descriptions=t_dates)
    from sarsense.algorithms.io import stack as st
    on, _ = st.on_grid(temp, stack, resampling="nearest")
    screen = frozen.screen_from_raster(on, t_dates, DATES, kelvin=True, output=str(tmp_path / "f.tif"))
    assert screen.unknown == (DATES[6],)
    c = cd.vegetation_cd_file(stack, stack, str(tmp_path / "v.tif"), dates=DATES, v1_bands=range(1, 9), alpha=20.0,
                              beta=0.0, ssm_min=0.05, series=SeriesOptions(frozen=screen))
    ssm, flags = read_raster(tmp_path / "v.tif"), read_raster(tmp_path / "f.tif")
    assert c["frozen"] == 8 and np.isnan(ssm[2, :, :2]).all() and np.isfinite(ssm[2, :, 2:]).all()
    assert (flags[2, :, :2] == 1).all() and (flags[6] == 255).all() and (flags[[0, 1, 3, 4, 5, 7]] == 0).all()
    # where the temperature says not frozen, the dark date stays (SSM_min): the screen is per pixel
    assert ssm[2, 0, 3] == pytest.approx(0.05) and ssm[5, 0, 0] == pytest.approx(0.05)
