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

**The real grid** (:func:`write_real_grd`, issue #30). Where targets land between the nodes of a grid with relief
can only be checked on a real grid: this product's product annotation is the real one, unchanged (geolocation
grid with heights 25–2 818 m, orbit, slant/ground range polynomials, image size). What is simulated is what the
geometry does not depend on: the manifest, calibration and noise XML above at the real size (so σ0 keeps its
closed form), and the measurement, full size but sparse (only the tiles around the targets are written: a known
σ0 background and a bright 7 × 7 target; the rest reads DN 0, the no-data), so it is a few MB and written in a
fraction of a second. :func:`real_truth` gives each target's true position by the two definitions the tests
compare (the grid's bilinear lon/lat; range-Doppler at the grid's bilinear height), :func:`write_real_dem` a DEM
of the grid's heights, and :func:`real_targets` targets where the grid's heights bend most.
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
    """The ``adsHeader`` of the product, calibration and noise annotations, as the real one (start, stop, orbit,
    data take)."""
    factor = MODES[mode][0]
    orbit = 26269 + 175 * ((start - REAL_START).days // 12)      # the real one, a 175-orbit repeat per 12 days
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
    at ``height`` m above the ellipsoid (one number, or one per point). 2-D Newton's method on the range-Doppler
    line and pixel, from the real grid's interpolated lon/lat, with a finite-difference Jacobian."""
    _, _, real = _real()
    rg = window_geometry(line0, pixel0, factor)
    lines, pixels = np.broadcast_arrays(np.asarray(lines, float), np.asarray(pixels, float))
    rl, rp = ((lines + line0) * factor).ravel(), ((pixels + pixel0) * factor).ravel()
    lon = np.array([real.lut("longitude").block([a], [b])[0, 0] for a, b in zip(rl, rp)])
    lat = np.array([real.lut("latitude").block([a], [b])[0, 0] for a, b in zip(rl, rp)])
    given = None if height is None else np.broadcast_to(np.asarray(height, float), lines.shape).ravel()

    def h_of(lo, la):
        return _rd.geoid_undulation(lo, la) if given is None else given.copy()
    lon, lat = ground_point(rg, lines.ravel(), pixels.ravel(), h_of, lon, lat)
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


def ground_point(rg, lines, pixels, height, lon, lat, iterations=5):
    """Longitude and latitude of the points that range-Doppler geometry ``rg`` (:class:`RangeGeometry`) images at
    image ``lines`` and ``pixels`` (arrays of one shape) at ellipsoidal height ``height(lon, lat)`` (a function,
    as the geoid's height depends on where the point is): image → ground, the opposite direction of the
    importer's; 2-D Newton's method from ``lon``, ``lat`` (e.g. the grid's interpolated ones) with a
    finite-difference Jacobian."""
    want = np.stack([lines, pixels], axis=-1)

    def image(lo, la):
        return np.stack(rg.line_pixel(_rd.geodetic_to_ecef(lo, la, height(lo, la))), axis=-1)
    d = 1e-6
    for _ in range(iterations):
        f = image(lon, lat)
        jac = np.stack([(image(lon + d, lat) - f) / d, (image(lon, lat + d) - f) / d], axis=-1)
        step = np.linalg.solve(jac, (want - f)[..., None])[..., 0]
        lon, lat = lon + step[..., 0], lat + step[..., 1]
    return lon, lat


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
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<product>{_ads_header(pol, rows, start, mode)}"
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


def _write_annotations(safe, stem, annotation, pol, rows, cols, start, legacy_noise, mode="IW"):
    """Write the product ``annotation`` (text) and this module's calibration and noise annotations of a
    polarisation into ``safe``, named after ``stem`` as in a real SAFE; returns their paths relative to it."""
    rels = []
    for rel, text in ((f"annotation/{stem}.xml", annotation),
                      (f"annotation/calibration/calibration-{stem}.xml",
                       _calibration_xml(pol, rows, cols, start, mode)),
                      (f"annotation/calibration/noise-{stem}.xml",
                       _noise_xml(pol, rows, cols, legacy_noise, start, mode))):
        with open(os.path.join(safe, rel), "w", encoding="utf-8") as fh:
            fh.write(text)
        rels.append(rel)
    return rels


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
        annotation = _annotation_xml(pol, rows, cols, start, stop, pts, pixel0, mode, shift)
        units.append((pol, meas, *_write_annotations(safe, stem, annotation, pol, rows, cols, start, legacy_noise,
                                                     mode)))
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


# -- the real product's metadata with a sparse measurement: geolocation on a real grid with relief ---------------
#: Rows and columns of the measurement's tiles (:func:`write_real_grd`).
REAL_TILE = 256
#: Image samples around a target written with the background (at least; whole tiles are written).
REAL_PATCH = 128


def _real_stop():
    return REAL_START + _dt.timedelta(seconds=(_geometry.image_info(_real()[0]).lines - 1) * LINE_TIME)


def _real_grid_array(field):
    """The real geolocation grid's lines, pixels and ``field`` (lines × pixels: the grid is rectilinear)."""
    p = _real()[2].points
    rows, cols = np.unique(p["line"]), np.unique(p["pixel"])
    return rows, cols, p[field][np.lexsort((p["pixel"], p["line"]))].reshape(len(rows), len(cols))


def real_grid_at(field, lines, pixels):
    """A field of the real product's geolocation grid (``longitude``, ``height``, ``incidenceAngle`` …) at the
    points (``lines``, ``pixels``) of the real image (any shape), bilinear in line × pixel between the grid
    points (ESA's interpolation of the grid, S1-RS-MDA-52-7441 §6.2.9), by scipy on the grid's own rectilinear
    lines and pixels: independent of the importer's :class:`.luts.VectorLut`."""
    from scipy.interpolate import RegularGridInterpolator
    rows, cols, values = _real_grid_array(field)
    lines, pixels = np.broadcast_arrays(np.asarray(lines, float), np.asarray(pixels, float))
    pts = np.stack([lines.ravel(), pixels.ravel()], axis=-1)
    return RegularGridInterpolator((rows, cols), values)(pts).reshape(lines.shape)


def real_truth(lines, pixels):
    """Where the real product images the samples (``lines``, ``pixels``) (1-D), by two definitions: ``"grid"``,
    the lon/lat of the geolocation grid interpolated bilinearly in line × pixel (ESA's definition between grid
    points); ``"range_doppler"``, the lon/lat of the point at the grid's interpolated ellipsoidal height that
    the orbit and slant/ground range conversion image at (line, pixel) (:func:`geolocation`). Returns
    ``{"grid": (lon, lat), "range_doppler": (lon, lat), "height": h (m, ellipsoidal), "incidence": (°, the grid's
    interpolated)}``."""
    lines, pixels = np.asarray(lines, float), np.asarray(pixels, float)
    h = real_grid_at("height", lines, pixels)
    lon, lat = geolocation(lines, pixels, 0, 0, height=h)[:2]
    return {"grid": (real_grid_at("longitude", lines, pixels), real_grid_at("latitude", lines, pixels)),
            "range_doppler": (lon, lat), "height": h, "incidence": real_grid_at("incidenceAngle", lines, pixels)}


def write_real_dem(path, bounds, size=80, iterations=8):
    """A DEM in EPSG:4326 over ``bounds`` (lon/lat min, max; ``size`` × ``size`` samples) on which every point
    lies at the real grid's interpolated height: the height h of each sample solves h = H(line, pixel of the
    point at h) (H the grid's bilinear height, the line and pixel by range-Doppler), by fixed-point iteration
    (a contraction: a metre of height moves the pixel by 1/(10 m · tan θ) ≈ 0.14 and the grid's heights change by
    at most about a metre per pixel), written above the EGM96 geoid as DEMs are. So terrain correction with it
    images each target at its range-Doppler truth (:func:`real_truth`)."""
    rg = window_geometry(0, 0)
    image = _geometry.image_info(_real()[0])
    step_x, step_y = (bounds[2] - bounds[0]) / size, (bounds[3] - bounds[1]) / size
    lon, lat = np.meshgrid(bounds[0] + (np.arange(size) + 0.5) * step_x, bounds[3] - (np.arange(size) + 0.5) * step_y)
    h = np.full(lon.shape, float(np.mean(_real()[2].points["height"])))
    for _ in range(iterations):
        line, pixel = rg.line_pixel(_rd.geodetic_to_ecef(lon, lat, h))
        h = real_grid_at("height", np.clip(line, 0, image.lines - 1), np.clip(pixel, 0, image.samples - 1))
    return write_dem(path, h - _rd.geoid_undulation(lon, lat), bounds)


def write_real_grd(out_dir, targets, *, ipf="003.31", legacy_noise=False, background_db=-6.0, target_db=14.0,
                   pol="VV", patch=REAL_PATCH):
    """A GRD product whose product annotation is the real Sentinel-1B IW GRDH VV annotation of
    ``s1_iw_annotation`` (written unchanged: its geolocation grid with heights 25–2 818 m, orbit, SRGR and image
    size, 25 788 × 16 685 samples), for geolocation on a real grid with relief. Returns ``{"safe": folder,
    "lines": image lines, "samples": image samples, "targets": [(line, pixel), …]}``.

    What is simulated: the manifest (:func:`_manifest`, IPF ``ipf``), the calibration and noise XML of this
    module at the real image size (``legacy_noise``: the ``noiseVector`` layout of IPF < 2.9), so that σ0 has a
    closed form, and the measurement: a uint16 GeoTIFF of the full size, tiled (:data:`REAL_TILE`) and written
    sparse (GDAL's ``SPARSE_OK``: tiles never written take no room and read DN 0, the product's no-data), so it
    is a few MB and quick to write. Around each target ``(line, pixel)`` (sample numbers of the real image) the
    tiles within ``patch`` samples hold σ0 ``background_db`` and the 7 × 7 samples centred on the target
    ``target_db``, DN = round(√(σ0·A² + η)) as :func:`write_grd`. Why: no real GRD measurement can be shipped,
    and only the annotation's geometry matters for where a target lands."""
    text, _, grid = _real()
    image = _geometry.image_info(text)
    rows, cols = image.lines, image.samples
    start, stop = REAL_START, _real_stop()
    name = f"S1B_IW_GRDH_1SS{pol[0]}_{start:%Y%m%dT%H%M%S}_{stop:%Y%m%dT%H%M%S}_026269_032297_REAL.SAFE"
    safe = os.path.join(str(out_dir), name)
    os.makedirs(os.path.join(safe, "measurement"), exist_ok=True)
    os.makedirs(os.path.join(safe, "annotation", "calibration"), exist_ok=True)
    stem = f"s1b-iw-grd-{pol.lower()}-{start:%Y%m%dt%H%M%S}-{stop:%Y%m%dt%H%M%S}-026269-032297-001"
    meas = f"measurement/{stem}.tiff"
    ds = gdal.GetDriverByName("GTiff").Create(
        os.path.join(safe, meas), cols, rows, 1, gdal.GDT_UInt16,
        ["TILED=YES", "SPARSE_OK=TRUE", f"BLOCKXSIZE={REAL_TILE}", f"BLOCKYSIZE={REAL_TILE}", "COMPRESS=DEFLATE"])
    pts = grid.points     # the grid as the measurement's GCPs, as write_grd writes them
    ds.SetGCPs([gdal.GCP(float(lo), float(la), float(hh), float(px), float(ln)) for lo, la, hh, px, ln in
                zip(pts["longitude"], pts["latitude"], pts["height"], pts["pixel"], pts["line"])],
               _geometry.wgs84_wkt())
    band = ds.GetRasterBand(1)
    tiles = set()
    for line, pixel in targets:
        for ty in range((max(0, line - patch)) // REAL_TILE, min(rows - 1, line + patch) // REAL_TILE + 1):
            for tx in range((max(0, pixel - patch)) // REAL_TILE, min(cols - 1, pixel + patch) // REAL_TILE + 1):
                tiles.add((ty, tx))
    for ty, tx in sorted(tiles):
        r0, c0 = ty * REAL_TILE, tx * REAL_TILE
        n, m = min(REAL_TILE, rows - r0), min(REAL_TILE, cols - c0)
        line, pixel = np.mgrid[r0:r0 + n, c0:c0 + m].astype(float)
        db = np.full((n, m), float(background_db))
        for tl, tp in targets:
            db[(np.abs(line - tl) <= 3) & (np.abs(pixel - tp) <= 3)] = float(target_db)
        power = 10.0 ** (db / 10.0) * calib("sigma0", line, pixel) ** 2 + noise(line, pixel, cols, legacy_noise, rows)
        band.WriteArray(np.clip(np.round(np.sqrt(power)), 1, 65535).astype(np.uint16), c0, r0)
    ds = None
    rels = _write_annotations(safe, stem, text, pol, rows, cols, start, legacy_noise)
    with open(os.path.join(safe, "manifest.safe"), "w", encoding="utf-8") as fh:
        fh.write(_manifest(name, [(pol, meas, *rels)], start, stop, ipf=ipf, product_type="GRD",
                           family="SENTINEL-1"))
    return {"safe": safe, "lines": rows, "samples": cols, "targets": [tuple(t) for t in targets]}


def real_targets(n_on=3, n_between=6):
    """Targets (line, pixel) for :func:`write_real_grd` where the real grid's heights change most, so that any
    interpolation smoother than the grid's own (bilinear) parts from it: each inner grid node scored by its largest
    second difference of height along lines or along pixels; ``n_on`` targets on the inner nodes of highest score,
    ``n_between`` at the centres of the cells whose corners score highest (no two cells sharing a corner).
    Returns ``(on, between)``."""
    lines, pixels, h = _real_grid_array("height")
    score = np.zeros_like(h)
    score[1:-1] = np.abs(h[:-2] - 2 * h[1:-1] + h[2:])
    score[:, 1:-1] = np.maximum(score[:, 1:-1], np.abs(h[:, :-2] - 2 * h[:, 1:-1] + h[:, 2:]))
    nodes = sorted(((score[i, j], i, j) for i in range(1, len(lines) - 1) for j in range(1, len(pixels) - 1)),
                   reverse=True)
    on = [(int(lines[i]), int(pixels[j])) for _, i, j in nodes[:n_on]]
    cells = sorted(((score[i:i + 2, j:j + 2].max(), i, j) for i in range(len(lines) - 1)
                    for j in range(len(pixels) - 1)), reverse=True)
    used, between = set(), []
    for _, i, j in cells:
        corners = {(i, j), (i + 1, j), (i, j + 1), (i + 1, j + 1)}
        if len(between) < n_between and not corners & used:
            used |= corners
            between.append((int(round((lines[i] + lines[i + 1]) / 2)), int(round((pixels[j] + pixels[j + 1]) / 2))))
    return on, between
