"""A small synthetic Sentinel-1 GRD product in the real SAFE layout, with DN of known σ0.

No GRD measurement with its calibration can be shipped (the sample products in ``resources/sample_data`` are
annotation only, with placeholder pixels), so the tests write one: ``manifest.safe`` with the elements and
namespaces of a real one (``s1_iw_annotation/*.manifest.safe.gz``), per polarisation a product annotation
(image information, geolocation grid), a calibration and a noise annotation in the layouts of IPF 3.x (range +
azimuth noise vectors) or, with ``legacy_noise``, of IPF < 2.9 (``noiseVector``), and a uint16 measurement
GeoTIFF.

The LUTs are chosen so that the ESA interpolation is exact: the calibration LUT ``A`` and the range noise are
linear in line and pixel, the azimuth noise linear in line within each of three sub-swath blocks. So the
closed-form σ0 of a pixel is ``(DN² − η(l, p)) / A(l, p)²`` with the functions below, independent of the
code under test. DN = round(√(σ0·A² + η)) of a smooth σ0 field (linear power, seeded).
"""

from __future__ import annotations

import datetime as _dt
import os
import zipfile

import numpy as np
from osgeo import gdal

START = _dt.datetime(2021, 4, 1, 5, 26, 23, 794457)
LINE_TIME = 1.5e-3           # s between lines (IW GRD: 1.5 ms)
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


def swaths(cols):
    """Three sub-swath blocks across the columns: (name, first sample, last sample, offset of η_az)."""
    edges = [0, cols // 3, 2 * cols // 3, cols]
    return [(f"IW{i + 1}", edges[i], edges[i + 1] - 1, 0.05 * i) for i in range(3)]


def azimuth_noise(line, pixel, cols):
    line, pixel = np.broadcast_arrays(np.asarray(line, float), np.asarray(pixel, float))
    out = np.ones(line.shape)
    for _, first, last, off in swaths(cols):
        inside = (pixel >= first) & (pixel <= last)
        out[inside] = AZ_NOISE[0] + off + AZ_NOISE[1] * line[inside]
    return out


def noise(line, pixel, cols, legacy=False):
    """η (DN²) at (line, pixel): the range noise, times the azimuth noise from IPF 2.9 on."""
    return range_noise(line, pixel) * (1.0 if legacy else azimuth_noise(line, pixel, cols))


def _iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _nums(values, fmt="{:.6e}"):
    return " ".join(fmt.format(v) for v in values)


def _vector_grid(rows, cols, line_step, pixel_step):
    lines = list(range(-line_step // 2, rows + line_step, line_step))
    pixels = list(range(0, cols, pixel_step)) + ([cols - 1] if (cols - 1) % pixel_step else [])
    return lines, pixels


def _calibration_xml(pol, rows, cols):
    lines, pixels = _vector_grid(rows, cols, 37, 23)
    vecs = []
    for ln in lines:
        body = "".join(f"<{tag}>{_nums(calib(kind, ln, np.array(pixels)))}</{tag}>"
                       for kind, tag in (("sigma0", "sigmaNought"), ("beta0", "betaNought"), ("gamma0", "gamma"),
                                         ("dn", "dn")))
        vecs.append(f"<calibrationVector><azimuthTime>{_iso(START + _dt.timedelta(seconds=ln * LINE_TIME))}"
                    f"</azimuthTime><line>{ln}</line><pixel count=\"{len(pixels)}\">{_nums(pixels, '{:d}')}</pixel>"
                    f"{body}</calibrationVector>")
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<calibration><adsHeader><missionId>S1B</missionId>"
            f"<productType>GRD</productType><polarisation>{pol}</polarisation><mode>IW</mode><swath>IW</swath>"
            f"</adsHeader><calibrationInformation><absoluteCalibrationConstant>1.0</absoluteCalibrationConstant>"
            f"</calibrationInformation><calibrationVectorList count=\"{len(vecs)}\">{''.join(vecs)}"
            "</calibrationVectorList></calibration>")


def _noise_xml(pol, rows, cols, legacy):
    lines, _ = _vector_grid(rows, cols, 53, 1)
    vecs = []
    for k, ln in enumerate(lines):
        # GRD noise vectors of IPF 3 have pixel lists of their own: alternate two spacings
        step = 29 if k % 2 else 31
        pixels = list(range(0, cols, step)) + ([cols - 1] if (cols - 1) % step else [])
        tag, lut = ("noiseVector", "noiseLut") if legacy else ("noiseRangeVector", "noiseRangeLut")
        vecs.append(f"<{tag}><azimuthTime>{_iso(START + _dt.timedelta(seconds=ln * LINE_TIME))}</azimuthTime>"
                    f"<line>{ln}</line><pixel count=\"{len(pixels)}\">{_nums(pixels, '{:d}')}</pixel>"
                    f"<{lut} count=\"{len(pixels)}\">{_nums(range_noise(ln, np.array(pixels)))}</{lut}></{tag}>")
    if legacy:
        return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<noise><noiseVectorList count=\"{len(vecs)}\">"
                f"{''.join(vecs)}</noiseVectorList></noise>")
    az = []
    for name, first, last, off in swaths(cols):
        az_lines = list(range(0, rows, 11)) + ([rows - 1] if (rows - 1) % 11 else [])
        values = [AZ_NOISE[0] + off + AZ_NOISE[1] * ln for ln in az_lines]
        az.append(f"<noiseAzimuthVector><swath>{name}</swath><firstAzimuthLine>0</firstAzimuthLine>"
                  f"<firstRangeSample>{first}</firstRangeSample><lastAzimuthLine>{rows - 1}</lastAzimuthLine>"
                  f"<lastRangeSample>{last}</lastRangeSample><line count=\"{len(az_lines)}\">"
                  f"{_nums(az_lines, '{:d}')}</line><noiseAzimuthLut count=\"{len(values)}\">{_nums(values)}"
                  "</noiseAzimuthLut></noiseAzimuthVector>")
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<noise><noiseRangeVectorList count=\"{len(vecs)}\">"
            f"{''.join(vecs)}</noiseRangeVectorList><noiseAzimuthVectorList count=\"{len(az)}\">{''.join(az)}"
            "</noiseAzimuthVectorList></noise>")


#: Scene corners (lon, lat) of the synthetic product: a descending pass over the Camargue, 10 m pixels.
CORNERS = ((4.60, 43.60), (4.55, 43.57))


def geolocation(rows, cols, lines, pixels):
    """lon, lat, incidence (°) of (line, pixel): lon/lat linear in both (10 m pixels, a slight skew),
    incidence 30.5° → 45.9° across the columns."""
    line, pixel = np.asarray(lines, float), np.asarray(pixels, float)
    lat = 43.60 - line * 9.0e-5 - pixel * 1.0e-5
    lon = 4.55 + pixel * 1.24e-4 - line * 1.5e-5
    inc = 30.5 + 15.4 * pixel / max(1, cols - 1)
    return lon, lat, inc


def _annotation_xml(pol, rows, cols, stop):
    grid_lines = np.linspace(0, rows - 1, 6).round().astype(int)
    grid_pixels = np.linspace(0, cols - 1, 9).round().astype(int)
    pts = []
    for ln in grid_lines:
        for px in grid_pixels:
            lon, lat, inc = geolocation(rows, cols, ln, px)
            pts.append(f"<geolocationGridPoint><azimuthTime>{_iso(START + _dt.timedelta(seconds=ln * LINE_TIME))}"
                       f"</azimuthTime><slantRangeTime>{5.3e-3 + px * 6.7e-8:.9e}</slantRangeTime><line>{ln}</line>"
                       f"<pixel>{px}</pixel><latitude>{lat:.9f}</latitude><longitude>{lon:.9f}</longitude>"
                       f"<height>0.0</height><incidenceAngle>{inc:.9f}</incidenceAngle>"
                       f"<elevationAngle>{inc - 3.5:.9f}</elevationAngle></geolocationGridPoint>")
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<product><adsHeader><missionId>S1B</missionId>"
            f"<productType>GRD</productType><polarisation>{pol}</polarisation><mode>IW</mode><swath>IW</swath>"
            f"<startTime>{_iso(START)}</startTime><stopTime>{_iso(stop)}</stopTime></adsHeader>"
            "<imageAnnotation><imageInformation>"
            f"<productFirstLineUtcTime>{_iso(START)}</productFirstLineUtcTime>"
            f"<productLastLineUtcTime>{_iso(stop)}</productLastLineUtcTime>"
            "<slantRangeTime>5.300000e-03</slantRangeTime><pixelValue>Detected</pixelValue>"
            "<outputPixels>16 bit Unsigned Integer</outputPixels>"
            f"<azimuthTimeInterval>{LINE_TIME:.6e}</azimuthTimeInterval><rangePixelSpacing>1.000000e+01"
            "</rangePixelSpacing><azimuthPixelSpacing>1.000000e+01</azimuthPixelSpacing>"
            f"<numberOfSamples>{cols}</numberOfSamples><numberOfLines>{rows}</numberOfLines>"
            "</imageInformation></imageAnnotation>"
            f"<geolocationGrid><geolocationGridPointList count=\"{len(pts)}\">{''.join(pts)}"
            "</geolocationGridPointList></geolocationGrid></product>")


def _manifest(name, units, stop, *, ipf, product_type, family):
    """``units``: per polarisation (pol, measurement, annotation, calibration, noise) relative paths. The package
    map, metadata objects and data objects are linked as in a real manifest (GDAL's SAFE driver follows them)."""
    pols = [u[0] for u in units]
    content, meta, objs = [], [], []
    for pol, meas, ann, cal, noi in units:
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
 xmlns:s1sarl1="http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1" version="esa/safe/sentinel-1.0/sentinel-1/sar/level-1/standard/iwdp">
<informationPackageMap><xfdu:contentUnit unitType="SAFE Archive Information Package" textInfo="Sentinel-1 IW Level-1 \
{product_type} Product" dmdID="acquisitionPeriod platform generalProductInformation measurementOrbitReference" pdiID="processing">
{''.join(content)}</xfdu:contentUnit></informationPackageMap>
<metadataSection>
{''.join(meta)}
<metadataObject ID="processing" classification="PROVENANCE" category="PDI"><metadataWrap><xmlData>
<safe:processing name="SLC Post Processing"><safe:facility name="Copernicus S1 Core Ground Segment">
<safe:software name="Sentinel-1 IPF" version="{ipf}"/></safe:facility></safe:processing></xmlData></metadataWrap>
</metadataObject>
<metadataObject ID="platform" classification="DESCRIPTION" category="DMD"><metadataWrap><xmlData><safe:platform>
<safe:nssdcIdentifier>2016-025A</safe:nssdcIdentifier><safe:familyName>{family}</safe:familyName>
<safe:number>B</safe:number><safe:instrument><safe:familyName abbreviation="SAR">Synthetic Aperture Radar</safe:familyName>
<safe:extension><s1sarl1:instrumentMode><s1sarl1:mode>IW</s1sarl1:mode><s1sarl1:swath>IW</s1sarl1:swath>
</s1sarl1:instrumentMode></safe:extension></safe:instrument></safe:platform></xmlData></metadataWrap></metadataObject>
<metadataObject ID="measurementOrbitReference" classification="DESCRIPTION" category="DMD"><metadataWrap><xmlData>
<safe:orbitReference><safe:orbitNumber type="start">26269</safe:orbitNumber><safe:orbitNumber type="stop">26269</safe:orbitNumber>
<safe:extension><s1:orbitProperties><s1:pass>DESCENDING</s1:pass></s1:orbitProperties></safe:extension>
</safe:orbitReference></xmlData></metadataWrap></metadataObject>
<metadataObject ID="generalProductInformation" classification="DESCRIPTION" category="DMD"><metadataWrap><xmlData>
<s1sarl1:standAloneProductInformation>{pol_el}<s1sarl1:productType>{product_type}</s1sarl1:productType>
</s1sarl1:standAloneProductInformation></xmlData></metadataWrap></metadataObject>
<metadataObject ID="acquisitionPeriod" classification="DESCRIPTION" category="DMD"><metadataWrap><xmlData>
<safe:acquisitionPeriod><safe:startTime>{_iso(START)}</safe:startTime><safe:stopTime>{_iso(stop)}</safe:stopTime>
</safe:acquisitionPeriod></xmlData></metadataWrap></metadataObject>
</metadataSection>
<dataObjectSection>{''.join(objs)}</dataObjectSection>
</xfdu:XFDU>
"""


def sigma0_truth(rows, cols, pol, seed=0, border_strip=False):
    """The product's σ0 (linear power): smooth fields, VH about 7 dB below VV, a dark band (water); with
    ``border_strip`` the 10 columns after the no-data edge at −45 dB, as the border noise of IPF < 2.90 left it
    (the no-data edge itself, DN 0, is the first 5 columns and last 3 lines: :func:`write_grd`)."""
    rng = np.random.default_rng(seed + (0 if pol in ("VV", "HH") else 1))
    y, x = np.mgrid[0:rows, 0:cols]
    db = -9.0 + 3.0 * np.sin(x / 37.0) * np.cos(y / 23.0) + rng.normal(0, 0.5, (rows, cols))
    db[:, cols // 2 - 8: cols // 2 + 8] = -24.0
    if pol in ("VH", "HV"):
        db -= 7.0
    if border_strip:
        db[:, 5:15] = -45.0
    return (10.0 ** (db / 10.0)).astype(np.float64)


def write_grd(out_dir, *, rows=240, cols=330, pols=("VV", "VH"), ipf="003.31", legacy_noise=False,
              product_type="GRD", family="SENTINEL-1", zip_it=False, seed=0, border_strip=False):
    """Write the product; returns ``{"safe": folder, "zip": path or None, "dn": {pol: uint16},
    "truth": {pol: σ0}}``. The no-data border (the first 5 columns, the last 3 lines) is DN 0, as in GRDs."""
    stop = START + _dt.timedelta(seconds=(rows - 1) * LINE_TIME)
    name = f"S1B_IW_{product_type}H_1SDV_{START:%Y%m%dT%H%M%S}_{stop:%Y%m%dT%H%M%S}_026269_032297_TEST.SAFE"
    safe = os.path.join(str(out_dir), name)
    os.makedirs(os.path.join(safe, "measurement"), exist_ok=True)
    os.makedirs(os.path.join(safe, "annotation", "calibration"), exist_ok=True)
    units, dns, truths = [], {}, {}
    line, pixel = np.mgrid[0:rows, 0:cols].astype(float)
    for k, pol in enumerate(pols, start=1):
        stem = f"s1b-iw-grd-{pol.lower()}-{START:%Y%m%dt%H%M%S}-{stop:%Y%m%dt%H%M%S}-026269-032297-{k:03d}"
        truth = sigma0_truth(rows, cols, pol, seed, border_strip)
        power = truth * calib("sigma0", line, pixel) ** 2 + noise(line, pixel, cols, legacy_noise)
        dn = np.clip(np.round(np.sqrt(power)), 0, 65535).astype(np.uint16)
        dn[:, :5] = 0
        dn[-3:, :] = 0
        dns[pol], truths[pol] = dn, truth
        meas = f"measurement/{stem}.tiff"
        ds = gdal.GetDriverByName("GTiff").Create(os.path.join(safe, meas), cols, rows, 1, gdal.GDT_UInt16)
        gcps = []
        for ln in np.linspace(0, rows - 1, 6):
            for px in np.linspace(0, cols - 1, 9):
                lon, lat, _ = geolocation(rows, cols, ln, px)
                gcps.append(gdal.GCP(float(lon), float(lat), 0.0, float(px), float(ln)))
        from osgeo import osr
        wgs = osr.SpatialReference()
        wgs.ImportFromEPSG(4326)
        ds.SetGCPs(gcps, wgs.ExportToWkt())
        ds.GetRasterBand(1).WriteArray(dn)
        ds = None
        rels = []
        for rel, text in ((f"annotation/{stem}.xml", _annotation_xml(pol, rows, cols, stop)),
                          (f"annotation/calibration/calibration-{stem}.xml", _calibration_xml(pol, rows, cols)),
                          (f"annotation/calibration/noise-{stem}.xml", _noise_xml(pol, rows, cols, legacy_noise))):
            with open(os.path.join(safe, rel), "w", encoding="utf-8") as fh:
                fh.write(text)
            rels.append(rel)
        units.append((pol, meas, *rels))
    with open(os.path.join(safe, "manifest.safe"), "w", encoding="utf-8") as fh:
        fh.write(_manifest(name, units, stop, ipf=ipf, product_type=product_type, family=family))
    zipped = None
    if zip_it:
        zipped = safe[:-5] + ".zip"
        with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
            for base, _, names in os.walk(safe):
                for n in names:
                    full = os.path.join(base, n)
                    zf.write(full, os.path.relpath(full, str(out_dir)))
    return {"safe": safe, "zip": zipped, "dn": dns, "truth": truths, "rows": rows, "cols": cols}
