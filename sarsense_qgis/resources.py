"""The plugin's names and files that every other module may use: its icon and its menu entries.

A leaf module: it imports nothing of SARSense, so the plugin, the provider and every algorithm can use it
without an import circle.
"""

from __future__ import annotations

import os

#: The plugin folder (the repository root): resources/, models/ and the help pages live under it.
PLUGIN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Graphical Modeler chains shipped with the plugin, registered as algorithms of the group Workflows.
WORKFLOWS_DIR = os.path.join(PLUGIN_DIR, "resources", "workflows")

#: Menu entries (Plugins ▸ SARSense ▸ …). Messages name them exactly as shown here.
INSTALL_ACTION = "Install missing Python packages…"
INSTALLED_ACTION = "Python packages: all installed"
HELP_ACTION = "SARSense help"
GETTING_STARTED_ACTION = "Getting started"


def icon_path():
    """The SARSense icon (SVG), for the provider, every algorithm and the menu."""
    return os.path.join(PLUGIN_DIR, "resources", "icons", "sarsense.svg")
