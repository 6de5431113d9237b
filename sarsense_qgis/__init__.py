"""Everything of SARSense that imports QGIS: plugin, provider, Processing algorithms, styles."""
