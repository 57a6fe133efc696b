"""The parts of the project index (``codemod/index.py`` is their public face)."""
