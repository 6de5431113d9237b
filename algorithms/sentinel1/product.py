"""A Sentinel-1 SAFE product read where it lies: a ``.SAFE`` folder, its ``manifest.safe``, or the ``.zip``
read in place through GDAL's ``/vsizip/`` (nothing unpacked).

The manifest names the product (mission, type, mode, polarisations, start time, processor version) and lists
its files (ESA, *Sentinel-1 Product Specification*, S1-RS-MDA-52-7441, §4: SAFE layout); measurement,
product annotation, calibration and noise files are taken from that list, per polarisation. Only Level-1 GRD
products are imported: the others are refused with the reason.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass, field

from osgeo import gdal

from .luts import LutError

gdal.UseExceptions()

#: Product types that are not imported, and why (the product type field of the manifest).
NOT_IMPORTED = {
    "SLC": "a single-look complex product (complex values per burst, in slant range): it needs debursting and "
           "multilooking before it is an image of backscatter; import the GRD product of the same acquisition",
    "OCN": "a Level-2 ocean product (wind, waves, currents): it holds no backscatter image",
    "RAW": "a Level-0 product of raw, unfocused echoes: it holds no image",
}
#: File kinds of one polarisation, from their place in the SAFE folder.
KINDS = ("measurement", "annotation", "calibration", "noise")
_POL = re.compile(r"-(vv|vh|hh|hv)-", re.IGNORECASE)
_NS = {"safe": "http://www.esa.int/safe/sentinel-1.0",
       "s1sarl1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1/sar/level-1",
       "s1": "http://www.esa.int/safe/sentinel-1.0/sentinel-1"}


class ProductError(ValueError):
    """A path that is not a readable Sentinel-1 product, or one this import does not take; says why."""


@dataclass(frozen=True)
class Product:
    """What the manifest says of a product, and the VSI paths of its files per polarisation."""

    root: str
    name: str
    mission: str
    product_type: str
    mode: str
    polarisations: tuple
    start: str
    stop: str
    ipf: str
    orbit_pass: str
    files: dict = field(default_factory=dict)
    relative_orbit: str = ""

    def path(self, polarisation, kind):
        """The VSI path of a polarisation's ``kind`` file (:data:`KINDS`); says which is missing."""
        found = self.files.get(polarisation.upper(), {}).get(kind)
        if found is None:
            raise ProductError(f"{self.name} has no {kind} file for {polarisation.upper()} (its manifest lists "
                               f"{', '.join(sorted(self.files.get(polarisation.upper(), {}))) or 'none'}): the "
                               "product is incomplete; download it again")
        return found

    def read(self, polarisation, kind):
        """The bytes of a polarisation's annotation, calibration or noise XML."""
        return read_bytes(self.path(polarisation, kind), f"the {kind} file of {polarisation.upper()}")

    def member(self, polarisation, kind):
        """A polarisation's ``kind`` file as the product names it: its path inside the ``.SAFE`` folder."""
        return self.path(polarisation, kind)[len(self.root):].lstrip("/")

    def damaged(self, polarisation, kind, reason):
        """The refusal of a polarisation's ``kind`` file that does not hold what it should (to raise)."""
        return ProductError(f"{self.name}: {self.member(polarisation, kind)} (the {kind} file of "
                            f"{polarisation.upper()}) cannot be used: {reason}. A truncated or damaged download? "
                            "Download the product again")

    @contextmanager
    def reading(self, polarisation, kind):
        """The bytes of a polarisation's XML ``kind`` file, for the ``with`` block that reads them: what its readers
        find wrong (:class:`~.luts.LutError`) is refused naming the file in the product (:meth:`damaged`)."""
        data = self.read(polarisation, kind)
        try:
            yield data
        except LutError as err:
            raise self.damaged(polarisation, kind, str(err)) from None


def read_bytes(path, what="file"):
    """A whole file through GDAL's virtual file system (plain paths and ``/vsizip/`` alike)."""
    try:
        handle = gdal.VSIFOpenL(path, "rb")
    except RuntimeError as err:
        raise ProductError(f"cannot read {what} '{path}': {err}") from None
    if handle is None:
        raise ProductError(f"cannot read {what} '{path}'")
    try:
        gdal.VSIFSeekL(handle, 0, 2)
        size = gdal.VSIFTellL(handle)
        gdal.VSIFSeekL(handle, 0, 0)
        data = gdal.VSIFReadL(1, size, handle)
    except RuntimeError as err:
        raise ProductError(f"cannot read {what} '{path}': {err} (a truncated or damaged download?)") from None
    finally:
        gdal.VSIFCloseL(handle)
    if data is None or len(data) != size:
        raise ProductError(f"cannot read {what} '{path}': it ends early (a truncated or damaged download?)")
    return bytes(data)


def _safe_root(path):
    """The VSI path of the ``.SAFE`` folder that ``path`` (zip, folder or manifest) stands for."""
    path = str(path)
    if not os.path.exists(path):
        raise ProductError(f"'{path}' does not exist")
    if os.path.isfile(path) and os.path.basename(path).lower() == "manifest.safe":
        return os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "manifest.safe")):
            return os.path.abspath(path)
        raise ProductError(f"'{path}' is a folder without manifest.safe: give a Sentinel-1 .SAFE folder, its "
                           "manifest.safe or the product's .zip")
    if path.lower().endswith(".zip"):
        zipped = "/vsizip/" + os.path.abspath(path)
        try:
            entries = gdal.ReadDir(zipped)
        except RuntimeError as err:
            raise ProductError(f"cannot open '{path}' as a zip ({err}): a truncated or damaged download? Download "
                               "it again") from None
        if not entries:
            raise ProductError(f"cannot open '{path}' as a zip (nothing inside can be listed): a truncated or "
                               "damaged download? Download it again")
        safes = [e.rstrip("/") for e in entries if e.rstrip("/").upper().endswith(".SAFE")]
        for name in safes:
            if gdal.VSIStatL(f"{zipped}/{name}/manifest.safe") is not None:
                return f"{zipped}/{name}"
        if gdal.VSIStatL(f"{zipped}/manifest.safe") is not None:
            return zipped
        raise ProductError(f"'{path}' holds no .SAFE folder with a manifest.safe: not a Sentinel-1 product")
    raise ProductError(f"'{path}' is not a Sentinel-1 product: give a .SAFE folder, its manifest.safe or the .zip")


def _text(root, xpath):
    found = root.find(xpath, _NS)
    return found.text.strip() if found is not None and found.text else ""


def open_product(path):
    """Read a product's manifest: a :class:`Product`, or :class:`ProductError` saying why not (not Sentinel-1,
    not Level-1 GRD, unreadable)."""
    root = _safe_root(path)
    name = os.path.basename(root.rstrip("/")) or os.path.basename(str(path))
    try:
        manifest = ET.fromstring(read_bytes(f"{root}/manifest.safe", "manifest.safe"))
    except ET.ParseError as err:
        raise ProductError(f"the manifest.safe of '{name}' is not readable XML ({err}): a damaged download?") from None
    family = _text(manifest, ".//safe:platform/safe:familyName")
    if family.upper() != "SENTINEL-1":
        raise ProductError(f"'{name}' is a {family or 'non-Sentinel'} SAFE product, not Sentinel-1: this imports "
                           "Sentinel-1 GRD products only")
    product_type = _text(manifest, ".//s1sarl1:standAloneProductInformation/s1sarl1:productType") or \
        _text(manifest, ".//s1sarl1:productType")
    if product_type.upper() in NOT_IMPORTED:
        raise ProductError(f"'{name}' is {NOT_IMPORTED[product_type.upper()]}. This imports Level-1 GRD products.")
    if product_type.upper() != "GRD":
        raise ProductError(f"'{name}' is a '{product_type or 'unknown'}' product; this imports Level-1 GRD products")
    mode = _text(manifest, ".//s1sarl1:instrumentMode/s1sarl1:mode")
    pols = tuple(p.text.strip().upper() for p in manifest.iter(f"{{{_NS['s1sarl1']}}}transmitterReceiverPolarisation")
                 if p.text)
    software = manifest.find(".//safe:software", _NS)
    ipf = software.get("version", "") if software is not None else ""
    files = {}
    for loc in manifest.iter():
        if not loc.tag.endswith("fileLocation"):
            continue
        href = (loc.get("href") or "").lstrip("./")
        kind = _kind(href)
        match = _POL.search(os.path.basename(href))
        if kind and match:
            files.setdefault(match.group(1).upper(), {})[kind] = f"{root}/{href}"
    return Product(root=root, name=name, mission=f"S1{_text(manifest, './/safe:platform/safe:number')}",
                   product_type="GRD", mode=mode.upper(), polarisations=pols,
                   start=_text(manifest, ".//safe:acquisitionPeriod/safe:startTime"),
                   stop=_text(manifest, ".//safe:acquisitionPeriod/safe:stopTime"), ipf=ipf,
                   orbit_pass=_text(manifest, ".//s1:pass").upper(), files=files,
                   relative_orbit=_text(manifest, ".//safe:orbitReference/safe:relativeOrbitNumber[@type='start']"))


def _kind(href):
    parts = href.lower().split("/")
    if parts[0] == "measurement" and parts[-1].endswith((".tiff", ".tif")):
        return "measurement"
    if parts[0] == "annotation" and parts[-1].endswith(".xml"):
        if len(parts) == 2:
            return "annotation"
        if parts[1] == "calibration":
            return "noise" if parts[-1].startswith("noise") else "calibration" if \
                parts[-1].startswith("calibration") else None
    return None
