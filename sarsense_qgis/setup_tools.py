"""Install SARSense's Python dependencies where QGIS's own Python finds them, and enable the plugin.

One path for everyone: ``make setup`` runs this file as a script, and the
plugin's one-click install (sarsense_qgis/plugin.py) calls :func:`install_deps`.
Packages go into a private folder, ``<profile>/python/sarsense_deps/py3.X``
(or ``$SARSENSE_DEPS_DIR``), which the plugin *appends* to ``sys.path``: QGIS's own
numpy, scipy and GDAL always win, and pip is told to keep numpy (and scipy, if
QGIS has it) at the versions QGIS's Python already has.

No QGIS import at module level: this runs before QGIS is set up.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIREMENTS = os.path.join(os.path.dirname(HERE), "resources", "requirements-runtime.txt")
#: Modules the runtime needs beyond QGIS's own Python, and the distribution that provides each.
RUNTIME_MODULES = {"onnxruntime": "onnxruntime", "sklearn": "scikit-learn", "skl2onnx": "skl2onnx",
                   "distributed": "dask/distributed"}


def default_profile_dir():
    """The default QGIS 3 profile folder on this OS (QGIS's own default, no QGIS import)."""
    if sys.platform.startswith("win"):
        base = os.path.join(os.environ.get("APPDATA", os.path.expanduser("~")), "QGIS", "QGIS3")
    elif sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Application Support/QGIS/QGIS3")
    else:
        base = os.path.join(os.environ.get("XDG_DATA_HOME", os.path.expanduser("~/.local/share")), "QGIS", "QGIS3")
    return os.path.join(base, "profiles", "default")


def deps_dir(profile_dir=None):
    """Folder for SARSense's private packages for this Python version."""
    if os.environ.get("SARSENSE_DEPS_DIR"):
        return os.environ["SARSENSE_DEPS_DIR"]
    tag = f"py{sys.version_info.major}.{sys.version_info.minor}"
    return os.path.join(profile_dir or default_profile_dir(), "python", "sarsense_deps", tag)


def add_to_path(path=None):
    """Append the private package folder to ``sys.path`` (after QGIS's own packages)."""
    import importlib

    path = path or deps_dir()
    if os.path.isdir(path) and path not in sys.path:
        sys.path.append(path)
    importlib.invalidate_caches()  # packages just installed into a folder already on sys.path
    return path


def missing_modules():
    """Runtime modules that cannot be found by this Python."""
    import importlib.util
    return [m for m in RUNTIME_MODULES if importlib.util.find_spec(m) is None]


def python_executable():
    """The Python interpreter matching the running one (inside QGIS ``sys.executable`` is QGIS itself)."""
    exe = sys.executable or ""
    if os.path.basename(exe).lower().startswith("python"):
        return exe
    ver = f"{sys.version_info.major}.{sys.version_info.minor}"
    for cand in (os.path.join(sys.exec_prefix, "bin", f"python{ver}"), os.path.join(sys.exec_prefix, "python.exe"),
                 os.path.join(sys.exec_prefix, "bin", "python3")):
        if os.path.exists(cand):
            return cand
    raise RuntimeError("cannot find QGIS's Python interpreter to run pip; install onnxruntime and "
                       "scikit-learn with your system's package manager instead")


def _pins():
    """Constraints that keep QGIS's numpy (and scipy) exactly as they are."""
    pins = []
    for mod, dist in (("numpy", "numpy"), ("scipy", "scipy")):
        try:
            m = __import__(mod)
            pins.append(f"{dist}=={m.__version__}")
        except ImportError:
            if mod == "numpy":
                raise RuntimeError("QGIS's Python has no numpy; install it with QGIS (Debian: python3-numpy)") from None
    return pins


def install_deps(target=None, requirements=REQUIREMENTS, log=print):
    """Install the runtime packages into ``target`` without touching QGIS's numpy.

    pip first resolves the requirements against what this Python already has
    (``--dry-run --report``, with ``target`` on PYTHONPATH); only what is missing is
    then installed into ``target`` with ``--no-deps``, numpy and scipy pinned.
    Returns the list of ``name==version`` installed.
    """
    target = target or deps_dir()
    os.makedirs(target, exist_ok=True)
    py = python_executable()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([p for p in (os.environ.get("PYTHONPATH"), target) if p]),
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    with tempfile.TemporaryDirectory() as tmp:
        cons = os.path.join(tmp, "constraints.txt")
        with open(cons, "w") as fh:
            fh.write("\n".join(_pins()) + "\n")
        report = os.path.join(tmp, "report.json")
        cmd = [py, "-m", "pip", "install", "--dry-run", "--quiet", "--report", report, "-c", cons, "-r", requirements]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            hint = " (Debian: apt install python3-pip)" if "No module named pip" in res.stderr else ""
            raise RuntimeError(f"pip could not resolve SARSense's packages{hint}:\n{res.stderr.strip()[-2000:]}")
        with open(report) as fh:
            todo = [f"{i['metadata']['name']}=={i['metadata']['version']}" for i in json.load(fh).get("install", [])]
        todo = [t for t in todo if t.split("==")[0].lower() not in ("numpy", "scipy")]
        if not todo:
            log(f"SARSense packages already present ({target})")
            return []
        log(f"installing into {target}: {' '.join(todo)}")
        cmd = [py, "-m", "pip", "install", "--quiet", "--upgrade", "--no-deps", "--target", target, *todo]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"pip install failed:\n{res.stderr.strip()[-2000:]}")
    return todo


def enable_plugin(profile_dir=None, name="sarsense"):
    """Mark plugin ``name`` enabled in the profile's QGIS3.ini (what QGIS desktop and qgis_process read)."""
    from PyQt5.QtCore import QSettings  # Qt writes its own INI format correctly
    profile_dir = profile_dir or default_profile_dir()
    ini = os.path.join(profile_dir, "QGIS", "QGIS3.ini")
    os.makedirs(os.path.dirname(ini), exist_ok=True)
    settings = QSettings(ini, QSettings.IniFormat)
    settings.setValue(f"PythonPlugins/{name}", True)
    settings.sync()
    if settings.status() != QSettings.NoError:
        raise RuntimeError(f"could not write {ini}")
    return ini


def check_deps():
    """What this Python sees once the private folder is appended as the plugin appends it (raises when missing)."""
    add_to_path()
    missing = missing_modules()
    if missing:
        names = ", ".join(RUNTIME_MODULES[m] for m in missing)
        raise RuntimeError(f"{names} not found in {deps_dir()}; run 'make setup'")
    from importlib import metadata
    found = ", ".join(f"{d} {metadata.version(d)}" for d in ("onnxruntime", "scikit-learn", "distributed"))
    return f"QGIS Python sees {found}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("install-deps", help="install onnxruntime and scikit-learn for QGIS's Python")
    p.add_argument("--target", default=None)
    sub.add_parser("deps-dir", help="print the private package folder")
    sub.add_parser("check-deps", help="which versions this Python sees (private folder appended, as the plugin does)")
    p = sub.add_parser("enable-plugin", help="enable the plugin in a QGIS profile")
    p.add_argument("--profile", default=None)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "install-deps":
            install_deps(args.target)
        elif args.cmd == "deps-dir":
            print(deps_dir())
        elif args.cmd == "check-deps":
            print(check_deps())
        elif args.cmd == "enable-plugin":
            print(enable_plugin(args.profile))
    except RuntimeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
