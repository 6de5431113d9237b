"""Documented simulators of data that cannot be had here (see each module and ../shared/data/MANIFEST.md)."""
