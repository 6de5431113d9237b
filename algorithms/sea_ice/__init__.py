"""Sea-ice concentration charts from Sentinel-1 HH/HV (Stokholm et al. 2022, AI4SeaIce): no QGIS here."""
