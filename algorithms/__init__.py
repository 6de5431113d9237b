"""SARSense science core: numpy/scipy/GDAL only, never QGIS or Qt (docs/conventions.md)."""
