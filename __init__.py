"""SARSense QGIS plugin entry point: nothing heavy is imported when QGIS scans plugins."""


def classFactory(iface):
    """Return the plugin instance (called by QGIS desktop and qgis_process)."""
    from .sarsense_qgis.plugin import SarsensePlugin

    return SarsensePlugin(iface)
