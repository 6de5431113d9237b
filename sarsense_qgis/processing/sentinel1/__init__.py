"""Sentinel-1: the GRD importer (calibration, noise removal, geocoding)."""
