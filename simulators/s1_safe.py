"""A synthetic Sentinel-1 GRD product in the real SAFE layout, with DN of known σ0, in a real orbit's geometry.

No GRD measurement with its calibration can be shipped (the sample products in ``resources/sample_data`` are
annotation only, with placeholder pixels), so the tests write one: ``manifest.safe`` with the elements and
namespaces of a real one (``s1_iw_annotation/*.manifest.safe.gz``), per polarisation a product annotation
(image information, orbit, slant/ground range conversion, geolocation grid), a calibration and a noise
annotation in the layouts of IPF 3.x (range + azimuth noise vectors) or, with ``legacy_noise``, of IPF < 2.9
(``noiseVector``), and a uint16 measurement GeoTIFF. The manifest and annotation also carry what
xarray-sentinel reads and SARSense does not (ascending node, data take, ``productInformation``, ``swathTiming``,
the first sample's slant range time, headers and counts, as the real files have them), so that bench section 9
runs sarsen on the same product. Its noise range vectors keep pixel lists of different lengths (for SARSense's
reader), which xarray-sentinel's noise reader does not take; sarsen reads no noise.

**Geometry.** The image is a window of the real Sentinel-1B IW GRDH product of 2021-04-01 (orbit 26269,
``s1_iw_annotation``): its orbit state vectors, line time and pixel spacing, its slant/ground range polynomials
shifted to the window's first sample, lines from :data:`LINE0` and samples from :data:`PIXEL0` of the real
image (or the whole real image). The geolocation grid is what the IPF computes for such an image over the sea:
each grid point is the point at mean sea level (EGM96 geoid, so its ellipsoidal height is the geoid undulation)
that images at the point's line and pixel, found by Newton's method on the range-Doppler equations of
:mod:`sarsense.algorithms.sentinel1.rangedoppler` (which put the real product's own grid points on their lines
and pixels within 0.05 pixel and 0.3 line: ``test_sentinel1.py``). The incidence angle is the ellipsoid one at
the point.

**Radiometry.** The LUTs are chosen so that the ESA interpolation is exact: the calibration LUT ``A`` and the
range noise are linear in line and pixel, the azimuth noise linear in line within each of three sub-swath
blocks. So the closed-form σ0 of a pixel is ``(DN² − η(l, p)) / A(l, p)²`` with the functions below, independent
of the code under test. DN = round(√(σ0·A² + η)) of a smooth σ0 field (linear power, seeded), written strip by
strip, so that a full-size product (25 788 × 16 685 samples, for the bench) takes little memory.
"""

from __future__ import annotations

import datetime as _dt
import functools
import gzip
import os
import re
import zipfile

import numpy as np
from osgeo import gdal

from sarsense.algorithms.sentinel1 import geometry as _geometry
from sarsense.algorithms.sentinel1 import rangedoppler as _rd

from . import SAMPLE_DATA

REAL_IW = SAMPLE_DATA / "s1_iw_annotation"
#: The real product's first line time and line interval.
REAL_START = _dt.datetime(2021, 4, 1, 5, 26, 23, 794457)
LINE_TIME = 1.498376640333055e-03
#: The real product's ascending node time and mission data-take ID (the manifest's; the name's 032297 in hex).
REAL_ANX = _dt.datetime(2021, 4, 1, 4, 49, 55, 637823)
DATA_TAKE = 0x032297
#: Where the synthetic window starts in the real image (line, sample): lowlands of the real scene's geometry.
LINE0, PIXEL0 = 12000, 8000
RANGE_SPACING = 10.0
#: Per mode: (pixel spacing factor over the IW GRDH's 10 m, resolution letter, polarisation pair). EW is written as
#: GRDM (40 m pixels) in the same orbit's geometry.
MODES = {"IW": (1, "H", "DV"), "EW": (4, "M", "DH")}
#: Rows of DN computed at once.
STRIP = 256
CALIB = {"sigma0": (500.0, 0.02, 0.05), "beta0": (470.0, 0.0, 0.0), "gamma0": (480.0, 0.01, 0.04),
         "dn": (400.0, 0.0, 0.0)}  # A = a0 + a1·line + a2·pixel
RANGE_NOISE = (60.0, 0.01, 0.02)    # η_range = b0 + b1·line + b2·pixel (DN²)
AZ_NOISE = (1.1, -0.0004)           # η_az = c0 + c1·line, each sub-swath block with its own offset


def calib(kind, line, pixel):
    a0, a1, a2 = CALIB[kind]
    return a0 + a1 * np.asarray(line, float) + a2 * np.asarray(pixel, float)


def range_noise(line, pixel):
    b0, b1, b2 = RANGE_NOISE
    return b0 + b1 * np.asarray(line, float) + b2 * np.asarray(pixel, float)


def swaths(cols, mode="IW"):
    """Three sub-swath blocks across the columns: (name, first sample, last sample, offset of η_az)."""
    edges = [0, cols // 3, 2 * cols // 3, cols]
    return [(f"{mode}{i + 1}", edges[i], edges[i + 1] - 1, 0.05 * i) for i in range(3)]


def _az_slope(rows):
    """η_az's slope per line: AZ_NOISE's for products up to 240 lines, less for longer ones (stays > 0)."""
    return AZ_NOISE[1] * 240 / max(rows, 240)


def azimuth_noise(line, pixel, cols, rows=240):
    line, pixel = np.broadcast_arrays(np.asarray(line, float), np.asarray(pixel, float))
    out = np.ones(line.shape)
    for _, first, last, off in swaths(cols):
        inside = (pixel >= first) & (pixel <= last)
        out[inside] = AZ_NOISE[0] + off + _az_slope(rows) * line[inside]
    return out


def noise(line, pixel, cols, legacy=False, rows=240):
    """η (DN²) at (line, pixel): the range noise, times the azimuth noise from IPF 2.9 on."""
    return range_noise(line, pixel) * (1.0 if legacy else azimuth_noise(line, pixel, cols, rows))


def _iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _at(start, line, factor=1):
    return _iso(start + _dt.timedelta(seconds=float(line) * LINE_TIME * factor))


def _nums(values, fmt="{:.6e}"):
    return " ".join(fmt.format(v) for v in values)


def _vector_grid(rows, cols, line_step, pixel_step):
    lines = list(range(-line_step // 2, rows + line_step, line_step))
    pixels = list(range(0, cols, pixel_step)) + ([cols - 1] if (cols - 1) % pixel_step else [])
    return lines, pixels


def _steps(rows, cols):
    """LUT spacing (lines, pixels): the small products' own, about as sparse as a real product's when large."""
    return max(37, rows // 30), max(23, cols // 400)


def _ads_header(pol, rows, start, mode="IW"):
    """The ``adsHeader`` of the calibration and noise annotation, as the real one (start, stop, orbit, data take)."""
    factor = MODES[mode][0]
    orbit = 26269 + 175 * ((start - REAL_START).days // 12)
    return (f"<adsHeader><missionId>S1B</missionId><productType>GRD</productType><polarisation>{pol}</polarisation>"
            f"<mode>{mode}</mode><swath>{mode}</swath><startTime>{_iso(start)}</startTime>"
            f"<stopTime>{_at(start, rows - 1, factor)}</stopTime><absoluteOrbitNumber>{orbit}</absoluteOrbitNumber>"
            f"<missionDataTakeId>{DATA_TAKE}</missionDataTakeId><imageNumber>001</imageNumber></adsHeader>")


def _calibration_xml(pol, rows, cols, start, mode="IW"):
    lines, pixels = _vector_grid(rows, cols, *_steps(rows, cols))
    vecs = []
    for ln in lines:
        body = "".join(f"<{tag} count=\"{len(pixels)}\">{_nums(calib(kind, ln, np.array(pixels)))}</{tag}>"
                       for kind, tag in (("sigma0", "sigmaNought"), ("beta0", "betaNought"), ("gamma0", "gamma"),
                                         ("dn", "dn")))
        vecs.append(f"<calibrationVector><azimuthTime>{_at(start, ln)}</azimuthTime><line>{ln}</line>"
                    f"<pixel count=\"{len(pixels)}\">{_nums(pixels, '{:d}')}</pixel>{body}</calibrationVector>")
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<calibration>{_ads_header(pol, rows, start, mode)}"
            "<calibrationInformation><absoluteCalibrationConstant>1.0</absoluteCalibrationConstant>"
            f"</calibrationInformation><calibrationVectorList count=\"{len(vecs)}\">{''.join(vecs)}"
            "</calibrationVectorList></calibration>")


def _noise_xml(pol, rows, cols, legacy, start, mode="IW"):
    line_step, pixel_step = _steps(rows, cols)
    lines, _ = _vector_grid(rows, cols, line_step + 16, 1)
    vecs = []
    for k, ln in enumerate(lines):
        # GRD noise vectors of IPF 3 have pixel lists of their own: alternate two spacings
        step = pixel_step + (6 if k % 2 else 8)
        pixels = list(range(0, cols, step)) + ([cols - 1] if (cols - 1) % step else [])
        tag, lut = ("noiseVector", "noiseLut") if legacy else ("noiseRangeVector", "noiseRangeLut")
        vecs.append(f"<{tag}><azimuthTime>{_at(start, ln)}</azimuthTime>"
                    f"<line>{ln}</line><pixel count=\"{len(pixels)}\">{_nums(pixels, '{:d}')}</pixel>"
                    f"<{lut} count=\"{len(pixels)}\">{_nums(range_noise(ln, np.array(pixels)))}</{lut}></{tag}>")
    if legacy:
        return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<noise>{_ads_header(pol, rows, start, mode)}"
                f"<noiseVectorList count=\"{len(vecs)}\">"
                f"{''.join(vecs)}</noiseVectorList></noise>")
    az = []
    az_step = max(11, rows // 200)
    for name, first, last, off in swaths(cols, mode):
        az_lines = list(range(0, rows, az_step)) + ([rows - 1] if (rows - 1) % az_step else [])
        values = [AZ_NOISE[0] + off + _az_slope(rows) * ln for ln in az_lines]
        az.append(f"<noiseAzimuthVector><swath>{name}</swath><firstAzimuthLine>0</firstAzimuthLine>"
                  f"<firstRangeSample>{first}</firstRangeSample><lastAzimuthLine>{rows - 1}</lastAzimuthLine>"
                  f"<lastRangeSample>{last}</lastRangeSample><line count=\"{len(az_lines)}\">"
                  f"{_nums(az_lines, '{:d}')}</line><noiseAzimuthLut count=\"{len(values)}\">{_nums(values)}"
                  "</noiseAzimuthLut></noiseAzimuthVector>")
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<noise>{_ads_header(pol, rows, start, mode)}"
            f"<noiseRangeVectorList count=\"{len(vecs)}\">"
            f"{''.join(vecs)}</noiseRangeVectorList><noiseAzimuthVectorList count=\"{len(az)}\">{''.join(az)}"
            "</noiseAzimuthVectorList></noise>")


# -- geometry: a window of the real IW GRDH product ---------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _real():
    text = gzip.decompress(next(REAL_IW.glob("s1b-iw-grd-vv-*.xml.gz")).read_bytes()).decode()
    return text, _rd.range_geometry(text), _geometry.geolocation_grid(text)


def window_geometry(line0=LINE0, pixel0=PIXEL0, factor=1):
    """The real product's :class:`RangeGeometry` for an image whose first line and sample are ``line0`` and
    ``pixel0``, with lines and samples ``factor`` times the real ones' spacing."""
    _, rg, _ = _real()
    spacing, interval = rg.range_spacing_m * factor, rg.line_interval_s * factor
    srgr = rg.srgr.copy()
    srgr[:, 0] -= pixel0 * spacing
    return _rd.RangeGeometry(rg.orbit, rg.first_line_s + line0 * interval, interval, spacing, rg.srgr_t, rg.sr0,
                             srgr)


#: Longitudes and latitudes around the default window, for DEMs over it.
SCENE_BOUNDS = (10.9, 46.0, 11.3, 46.3)


def write_dem(path, heights=0.0, bounds=SCENE_BOUNDS, size=100):
    """A DEM in EPSG:4326 over ``bounds`` (lon/lat min, max): ``heights`` in metres above the geoid, a number
    (``size`` × ``size`` samples) or a 2-D array (its shape gives the size)."""
    heights = np.asarray(heights, np.float32)
    if heights.ndim == 0:
        heights = np.full((size, size), heights, np.float32)
    rows, cols = heights.shape
    ds = gdal.GetDriverByName("GTiff").Create(str(path), cols, rows, 1, gdal.GDT_Float32,
                                              ["TILED=YES", "COMPRESS=DEFLATE"])
    ds.SetGeoTransform((bounds[0], (bounds[2] - bounds[0]) / cols, 0, bounds[3], 0, -(bounds[3] - bounds[1]) / rows))
    ds.SetProjection(_geometry.wgs84_wkt())
    ds.GetRasterBand(1).WriteArray(heights)
    ds = None
    return str(path)


def geolocation(lines, pixels, line0=LINE0, pixel0=PIXEL0, height=None, factor=1):
    """lon, lat (°), ellipsoidal height (m), incidence (°), zero-Doppler time (s since the orbit's epoch) and slant
    range (m) of the ground points imaged at (line, pixel) of the window: at mean sea level (``height`` None), or
    at ``height`` m above the ellipsoid. 2-D Newton's method on the range-Doppler line and pixel, from the real
    grid's interpolated lon/lat, with a finite-difference Jacobian."""
    _, _, real = _real()
    rg = window_geometry(line0, pixel0, factor)
    lines, pixels = np.broadcast_arrays(np.asarray(lines, float), np.asarray(pixels, float))
    rl, rp = ((lines + line0) * factor).ravel(), ((pixels + pixel0) * factor).ravel()
    lon = np.array([real.lut("longitude").block([a], [b])[0, 0] for a, b in zip(rl, rp)])
    lat = np.array([real.lut("latitude").block([a], [b])[0, 0] for a, b in zip(rl, rp)])
    want = np.stack([lines.ravel(), pixels.ravel()], axis=-1)

    def h_of(lo, la):
        return _rd.geoid_undulation(lo, la) if height is None else np.full(lo.shape, float(height))

    def lp(lo, la):
        return np.stack(rg.line_pixel(_rd.geodetic_to_ecef(lo, la, h_of(lo, la))), axis=-1)
    d = 1e-6
    for _ in range(5):
        f = lp(lon, lat)
        jac = np.stack([(lp(lon + d, lat) - f) / d, (lp(lon, lat + d) - f) / d], axis=-1)
        step = np.linalg.solve(jac, (want - f)[..., None])[..., 0]
        lon, lat = lon + step[:, 0], lat + step[:, 1]
    h = h_of(lon, lat)
    xyz = _rd.geodetic_to_ecef(lon, lat, h)
    t, r = rg.zero_doppler(xyz)
    pos, _ = rg.orbit.at(t)
    look = (pos - xyz) / r[:, None]
    up = np.stack([np.cos(np.radians(lat)) * np.cos(np.radians(lon)), np.cos(np.radians(lat)) * np.sin(np.radians(lon)),
                   np.sin(np.radians(lat))], axis=-1)
    inc = np.degrees(np.arccos(np.sum(up * look, axis=-1)))
    shape = lines.shape
    return tuple(a.reshape(shape) for a in (lon, lat, h, inc, t, r))


def _orbit_xml(shift=None):
    """The real product's orbit state vectors, their times moved by ``shift`` (a timedelta: whole repeat cycles
    keep the Earth-fixed positions valid, the orbit repeating its ground track every 12 days)."""
    text, _, _ = _real()
    orbit = re.search(r"<orbitList.*?</orbitList>", text, re.S).group(0)
    if not shift:
        return orbit
    return re.sub(r"<time>([^<]+)</time>", lambda m: "<time>" + _iso(
        _dt.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f") + shift) + "</time>", orbit)


def _product_information():
    """The real product's ``productInformation`` (pass, projection, range sampling rate, radar frequency…)."""
    text, _, _ = _real()
    return re.search(r"<productInformation>.*?</productInformation>", text, re.S).group(0)


def _conversion_xml(pixel0, factor=1):
    text, rg, _ = _real()
    spacing = rg.range_spacing_m * factor
    out = []
    listed = re.search(r"<coordinateConversionList[^>]*>(.*?)</coordinateConversionList>", text, re.S).group(1)
    for block in re.findall(r"<coordinateConversion>.*?</coordinateConversion>", listed, re.S):
        srgr = np.array(re.search(r"<srgrCoefficients[^>]*>([^<]*)<", block).group(1).split(), float)
        srgr[0] -= pixel0 * spacing
        gr0 = float(re.search(r"<gr0>([^<]*)<", block).group(1)) - pixel0 * spacing
        block = re.sub(r"(<srgrCoefficients[^>]*>)[^<]*<",
                       lambda m, srgr=srgr: m.group(1) + _nums(srgr, "{:.15e}") + "<", block)
        out.append(re.sub(r"<gr0>[^<]*<", f"<gr0>{gr0:.15e}<", block))
    return f"<coordinateConversion><coordinateConversionList count=\"{len(out)}\">{''.join(out)}" \
           "</coordinateConversionList></coordinateConversion>"


def grid_points(rows, cols, line0=LINE0, pixel0=PIXEL0, factor=1):
    """The geolocation grid: 6 × 9 points for small images, 10 × 21 (the real product's) for large ones."""
    n_l, n_p = (6, 9) if rows * cols < 4_000_000 else (10, 21)
    lines = np.linspace(0, rows - 1, n_l).round()
    pixels = np.linspace(0, cols - 1, n_p).round()
    ln, px = np.meshgrid(lines, pixels, indexing="ij")
    return ln.ravel(), px.ravel(), geolocation(ln.ravel(), px.ravel(), line0, pixel0, factor=factor)


def _annotation_xml(pol, rows, cols, start, stop, pts, pixel0, mode="IW", shift=None):
    factor = MODES[mode][0]
    lines, pixels, (lon, lat, h, inc, t, r) = pts
    items = []
    for ln, px, lo, la, hh, ic, rr in zip(lines, pixels, lon, lat, h, inc, r):
        items.append(f"<geolocationGridPoint><azimuthTime>{_at(start, ln, factor)}</azimuthTime>"
                     f"<slantRangeTime>{2 * rr / 299792458.0:.12e}</slantRangeTime><line>{int(ln)}</line>"
                     f"<pixel>{int(px)}</pixel><latitude>{la:.12f}</latitude><longitude>{lo:.12f}</longitude>"
                     f"<height>{hh:.6f}</height><incidenceAngle>{ic:.9f}</incidenceAngle>"
                     f"<elevationAngle>{ic - 3.5:.9f}</elevationAngle></geolocationGridPoint>")
    shift = shift or _dt.timedelta(0)
    # the first sample's two-way slant range time and the mean incidence, as the real imageInformation has them
    first = int(np.flatnonzero((np.asarray(lines) == 0) & (np.asarray(pixels) == 0))[0])
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<product><adsHeader><missionId>S1B</missionId>"
            f"<productType>GRD</productType><polarisation>{pol}</polarisation><mode>{mode}</mode><swath>{mode}</swath>"
            f"<startTime>{_iso(start)}</startTime><stopTime>{_iso(stop)}</stopTime>"
            f"<absoluteOrbitNumber>{26269 + 175 * (shift.days // 12)}</absoluteOrbitNumber>"
            f"<missionDataTakeId>{DATA_TAKE}</missionDataTakeId><imageNumber>001</imageNumber></adsHeader>"
            f"<generalAnnotation>{_product_information()}{_orbit_xml(shift)}</generalAnnotation>"
            "<imageAnnotation><imageInformation>"
            f"<productFirstLineUtcTime>{_iso(start)}</productFirstLineUtcTime>"
            f"<productLastLineUtcTime>{_iso(stop)}</productLastLineUtcTime>"
            f"<ascendingNodeTime>{_iso(REAL_ANX + shift)}</ascendingNodeTime>"
            f"<slantRangeTime>{2 * r[first] / 299792458.0:.15e}</slantRangeTime><pixelValue>Detected</pixelValue>"
            "<outputPixels>16 bit Unsigned Integer</outputPixels>"
            f"<azimuthTimeInterval>{LINE_TIME * factor:.15e}</azimuthTimeInterval><rangePixelSpacing>"
            f"{RANGE_SPACING * factor:.6e}</rangePixelSpacing><azimuthPixelSpacing>{RANGE_SPACING * factor:.6e}"
            "</azimuthPixelSpacing>"
            f"<numberOfSamples>{cols}</numberOfSamples><numberOfLines>{rows}</numberOfLines>"
            f"<incidenceAngleMidSwath>{np.mean(inc):.15e}</incidenceAngleMidSwath>"
            f"</imageInformation></imageAnnotation>{_conversion_xml(pixel0, factor)}"
            "<swathTiming><linesPerBurst>0</linesPerBurst><samplesPerBurst>0</samplesPerBurst>"
            "<burstList count=\"0\"/></swathTiming>"
            f"<geolocationGrid><geolocationGridPointList count=\"{len(items)}\">{''.join(items)}"
            "</geolocationGridPointList></geolocationGrid></product>")


def _manifest(name, units, start, stop, *, ipf, product_type, family, mode="IW", orbit=26269):
    """``units``: per polarisation (pol, measurement, annotation, calibration, noise) relative paths. The package
    map, metadata objects and data objects are linked as in a real manifest (GDAL's SAFE driver follows them).
    The relative orbit is Sentinel-1B's for absolute ``orbit`` ((orbit − 27) mod 175 + 1: 168 for 26269, as in the
    real product)."""
    pols = [u[0] for u in units]
    relative = (orbit - 27) % 175 + 1
    anx = REAL_ANX + _dt.timedelta(days=12 * ((orbit - 26269) // 175))
    content, meta, objs = [], [], []
    for _pol, meas, ann, cal, noi in units:
        ids = {}
        for kind, rel, rep in (("product", ann, "s1Level1ProductSchema"), ("noise", noi, "s1Level1NoiseSchema"),
                               ("calibration", cal, "s1Level1CalibrationSchema")):
            ids[kind] = f"{kind}s{os.path.basename(rel)[:-4].replace('-', '')}"
            content.append(f'<xfdu:contentUnit unitType="Metadata Unit" repID="{rep}"><dataObjectPointer '
                           f'dataObjectID="{ids[kind]}"/></xfdu:contentUnit>')
            meta.append(f'<metadataObject ID="{ids[kind]}Annotation" classification="DESCRIPTION" category="DMD">'
                        f'<dataObjectPointer dataObjectID="{ids[kind]}"/></metadataObject>')
            objs.append(f'<dataObject ID="{ids[kind]}" repID="{rep}"><byteStream mimeType="text/xml">'
                        f'<fileLocation locatorType="URL" href="./{rel}"/></byteStream></dataObject>')
        mid = os.path.basename(meas)[:-5].replace("-", "")
        dmd = " ".join(f"{ids[k]}Annotation" for k in ("product", "noise", "calibration"))
        content.append(f'<xfdu:contentUnit unitType="Measurement Data Unit" repID="s1Level1MeasurementSchema" '
                       f'dmdID="{dmd} "><dataObjectPointer dataObjectID="{mid}"/></xfdu:contentUnit>')
        objs.append(f'<dataObject ID="{mid}" repID="s1Level1MeasurementSchema"><byteStream '
                    f'mimeType="application/octet-stream"><fileLocation locatorType="URL" href="./{meas}"/>'
                    '</byteStream></dataObject>')
    pol_el = "".join(f"<s1sarl1:transmitterReceiverPolarisation>{p}</s1sarl1:transmitterReceiverPolarisation>"
                     for p in pols)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" xmlns:safe="http://www.esa.int/safe/sentinel-1.0"
 xmlns:s1="http://www.esa.int/safe/sentinel-1.0/sentinel-1"
 xmlns:s1sarl1="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1" \
version="esa/safe/sentinel-1.0/sentinel-1/sar/level-1/standard/iwdp">
<informationPackageMap><xfdu:contentUnit unitType="SAFE Archive Information Package" \
textInfo="Sentinel-1 {mode} Level-1 \
{product_type} Product" dmdID="acquisitionPeriod platform generalProductInformation measurementOrbitReference" \
pdiID="processing">
{''.join(content)}</xfdu:contentUnit></informationPackageMap>
<metadataSection>
{''.join(meta)}
<metadataObject ID="processing" classification="PROVENANCE" category="PDI"><metadataWrap><xmlData>
<safe:processing name="SLC Post Processing"><safe:facility name="Copernicus S1 Core Ground Segment">
<safe:software name="Sentinel-1 IPF" version="{ipf}"/></safe:facility></safe:processing></xmlData></metadataWrap>
</metadataObject>
<metadataObject ID="platform" classification="DESCRIPTION" category="DMD"><metadataWrap><xmlData><safe:platform>
<safe:nssdcIdentifier>2016-025A</safe:nssdcIdentifier><safe:familyName>{family}</safe:familyName>
<safe:number>B</safe:number><safe:instrument>\
<safe:familyName abbreviation="SAR">Synthetic Aperture Radar</safe:familyName>
<safe:extension><s1sarl1:instrumentMode><s1sarl1:mode>{mode}</s1sarl1:mode><s1sarl1:swath>{mode}</s1sarl1:swath>
</s1sarl1:instrumentMode></safe:extension></safe:instrument></safe:platform></xmlData></metadataWrap></metadataObject>
<metadataObject ID="measurementOrbitReference" classification="DESCRIPTION" category="DMD"><metadataWrap><xmlData>
<safe:orbitReference><safe:orbitNumber type="start">{orbit}</safe:orbitNumber>\
<safe:orbitNumber type="stop">{orbit}</safe:orbitNumber>
<safe:relativeOrbitNumber type="start">{relative}</safe:relativeOrbitNumber>\
<safe:relativeOrbitNumber type="stop">{relative}</safe:relativeOrbitNumber>
<safe:extension><s1:orbitProperties><s1:pass>DESCENDING</s1:pass>\
<s1:ascendingNodeTime>{_iso(anx)}</s1:ascendingNodeTime></s1:orbitProperties></safe:extension>
</safe:orbitReference></xmlData></metadataWrap></metadataObject>
<metadataObject ID="generalProductInformation" classification="DESCRIPTION" category="DMD"><metadataWrap><xmlData>
<s1sarl1:standAloneProductInformation>\
<s1sarl1:missionDataTakeID>{DATA_TAKE}</s1sarl1:missionDataTakeID>{pol_el}<s1sarl1:productType>{product_type}</s1sarl1:productType>
</s1sarl1:standAloneProductInformation></xmlData></metadataWrap></metadataObject>
<metadataObject ID="acquisitionPeriod" classification="DESCRIPTION" category="DMD"><metadataWrap><xmlData>
<safe:acquisitionPeriod><safe:startTime>{_iso(start)}</safe:startTime><safe:stopTime>{_iso(stop)}</safe:stopTime>
</safe:acquisitionPeriod></xmlData></metadataWrap></metadataObject>
</metadataSection>
<dataObjectSection>{''.join(objs)}</dataObjectSection>
</xfdu:XFDU>
"""


def sigma0_truth(rows, cols, pol, seed=0, border_strip=False, first_row=0, n_rows=None, extra_db=None):
    """The product's σ0 (linear power) on rows ``first_row`` … (+ ``n_rows``): smooth fields, VH about 7 dB below
    VV, a dark band (water); with ``border_strip`` the 10 columns after the no-data edge at −45 dB, as the border
    noise of IPF < 2.90 left it (the no-data edge itself, DN 0, is the first 5 columns and last 3 lines:
    :func:`write_grd`). The noise of each strip of :data:`STRIP` rows has its own seed. ``extra_db``: a function
    of the rows and columns (2-D arrays) giving dB added to the land (not the dark band), e.g. a wetting."""
    n_rows = rows if n_rows is None else n_rows
    y, x = np.mgrid[first_row:first_row + n_rows, 0:cols]
    db = -9.0 + 3.0 * np.sin(x / 37.0) * np.cos(y / 23.0)
    for s0 in range(first_row - first_row % STRIP, first_row + n_rows, STRIP):
        rng = np.random.default_rng([seed + (0 if pol in ("VV", "HH") else 1), s0])
        strip = rng.normal(0, 0.5, (STRIP, cols))
        a, b = max(s0, first_row), min(s0 + STRIP, first_row + n_rows)
        db[a - first_row:b - first_row] += strip[a - s0:b - s0]
    if extra_db is not None:
        db += extra_db(y, x)
    db[:, cols // 2 - 8: cols // 2 + 8] = -24.0
    if pol in ("VH", "HV"):
        db -= 7.0
    if border_strip:
        db[:, 5:15] = -45.0
    return 10.0 ** (db / 10.0)


def write_grd(out_dir, *, rows=240, cols=330, pols=("VV", "VH"), ipf="003.31", legacy_noise=False,
              product_type="GRD", family="SENTINEL-1", zip_it=False, seed=0, border_strip=False, line0=LINE0,
              pixel0=PIXEL0, keep_arrays=True, mode="IW", cycles=0, extra_db=None):
    """Write the product (lines ``line0``… and samples ``pixel0``… of the real product's geometry; ``mode`` "EW":
    an EW GRDM product, 40 m pixels, in the same geometry); returns
    ``{"safe": folder, "zip": path or None, "dn": {pol: uint16}, "truth": {pol: σ0}, "grid": (lines, pixels,
    (lon, lat, h, inc, t, r))}`` (``dn`` and ``truth`` empty unless ``keep_arrays``). The no-data border (the
    first 5 columns, the last 3 lines) is DN 0, as in GRDs. ``cycles``: the product is that many 12-day repeat
    cycles after the real one (times, orbit state vectors and absolute orbit moved; same track, same footprint);
    ``extra_db``: see :func:`sigma0_truth`."""
    factor, res, pair = MODES[mode]
    shift = _dt.timedelta(days=12 * cycles)
    orbit = 26269 + 175 * cycles
    start = REAL_START + shift + _dt.timedelta(seconds=line0 * LINE_TIME * factor)
    stop = start + _dt.timedelta(seconds=(rows - 1) * LINE_TIME * factor)
    name = (f"S1B_{mode}_{product_type}{res}_1S{pair}_{start:%Y%m%dT%H%M%S}_{stop:%Y%m%dT%H%M%S}_{orbit:06d}_032297_"
            "TEST.SAFE")
    safe = os.path.join(str(out_dir), name)
    os.makedirs(os.path.join(safe, "measurement"), exist_ok=True)
    os.makedirs(os.path.join(safe, "annotation", "calibration"), exist_ok=True)
    pts = grid_points(rows, cols, line0, pixel0, factor)
    lines, pixels, (lon, lat, h, _, _, _) = pts
    gcps = [gdal.GCP(float(lo), float(la), float(hh), float(px), float(ln))
            for lo, la, hh, px, ln in zip(lon, lat, h, pixels, lines)]
    units, dns, truths = [], {}, {}
    for k, pol in enumerate(pols, start=1):
        stem = (f"s1b-{mode.lower()}-grd-{pol.lower()}-{start:%Y%m%dt%H%M%S}-{stop:%Y%m%dt%H%M%S}-{orbit:06d}-032297-"
                f"{k:03d}")
        meas = f"measurement/{stem}.tiff"
        ds = gdal.GetDriverByName("GTiff").Create(os.path.join(safe, meas), cols, rows, 1, gdal.GDT_UInt16,
                                                  ["TILED=YES"] if rows * cols > 4_000_000 else [])
        ds.SetGCPs(gcps, _geometry.wgs84_wkt())
        band = ds.GetRasterBand(1)
        for r0 in range(0, rows, STRIP):
            n = min(STRIP, rows - r0)
            line, pixel = np.mgrid[r0:r0 + n, 0:cols].astype(float)
            truth = sigma0_truth(rows, cols, pol, seed, border_strip, r0, n, extra_db)
            power = truth * calib("sigma0", line, pixel) ** 2 + noise(line, pixel, cols, legacy_noise, rows)
            dn = np.clip(np.round(np.sqrt(power)), 0, 65535).astype(np.uint16)
            dn[:, :5] = 0
            dn[max(0, rows - 3 - r0):, :] = 0
            band.WriteArray(dn, 0, r0)
            if keep_arrays:
                dns.setdefault(pol, []).append(dn)
                truths.setdefault(pol, []).append(truth)
        ds = None
        rels = []
        for rel, text in ((f"annotation/{stem}.xml", _annotation_xml(pol, rows, cols, start, stop, pts, pixel0, mode,
                                                                      shift)),
                          (f"annotation/calibration/calibration-{stem}.xml",
                           _calibration_xml(pol, rows, cols, start, mode)),
                          (f"annotation/calibration/noise-{stem}.xml",
                           _noise_xml(pol, rows, cols, legacy_noise, start, mode))):
            with open(os.path.join(safe, rel), "w", encoding="utf-8") as fh:
                fh.write(text)
            rels.append(rel)
        units.append((pol, meas, *rels))
    with open(os.path.join(safe, "manifest.safe"), "w", encoding="utf-8") as fh:
        fh.write(_manifest(name, units, start, stop, ipf=ipf, product_type=product_type, family=family,
                           mode=mode, orbit=orbit))
    zipped = None
    if zip_it:
        zipped = safe[:-5] + ".zip"
        with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
            for base, _, names in os.walk(safe):
                for n in names:
                    full = os.path.join(base, n)
                    zf.write(full, os.path.relpath(full, str(out_dir)))
    return {"safe": safe, "zip": zipped, "dn": {p: np.concatenate(v) for p, v in dns.items()},
            "truth": {p: np.concatenate(v) for p, v in truths.items()}, "rows": rows, "cols": cols, "grid": pts,
            "line0": line0, "pixel0": pixel0}
