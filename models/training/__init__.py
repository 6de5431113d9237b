"""Offline training toolchain (PyTorch, CPU): never imported by the plugin, left out of its zip."""
