"""Sentinel-1 GRD import without SNAP (no QGIS): look-up tables, calibration, thermal noise, geometry."""
