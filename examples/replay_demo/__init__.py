"""Experiment replay demo: record a small NumPy training run, then replay it.

Run it with ``python -m examples.replay_demo`` from the repository root; see README.md.
"""
