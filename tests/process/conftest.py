"""The qgis_process tests' environment: a fresh HOME whose default profile enables the plugin."""

import os

import pytest
from helpers import PKG_ROOT


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A fresh HOME whose default profile enables the plugin, found through QGIS_PLUGINPATH."""
    home = tmp_path_factory.mktemp("home")
    profile = home / ".local" / "share" / "QGIS" / "QGIS3" / "profiles" / "default"
    from sarsense.sarsense_qgis import setup_tools
    deps = setup_tools.deps_dir()  # the folder `make setup` filled ($SARSENSE_DEPS_DIR under make), before HOME changes
    setup_tools.enable_plugin(str(profile))
    e = dict(os.environ, HOME=str(home), QGIS_PLUGINPATH=str(PKG_ROOT), QT_QPA_PLATFORM="offscreen",
             SARSENSE_DEPS_DIR=deps, XDG_RUNTIME_DIR=str(home))
    for var in ("XDG_DATA_HOME", "QGIS_CUSTOM_CONFIG_PATH", "QGIS_OPTIONS_PATH"):  # pytest-qgis sets the last two
        e.pop(var, None)
    return e
