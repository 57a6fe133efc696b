"""The real handlers: a slow "download" and a slow "GPU" feature model, counted call by call."""

import collections
import os
import time

import numpy as np

from doeff_migrate.runtime.handlers import NativeHandler

from .pipeline import ExtractFeatures, LoadDataset, SaveCheckpoint

EXPENSIVE_CALLS: collections.Counter = collections.Counter()
"""How often each expensive function ran in this process (the replay test reads it)."""


def download_dataset(name, size, latency):
    """Stands in for a metered download: seconds of waiting, then two interleaved moons."""
    EXPENSIVE_CALLS["download_dataset"] += 1
    time.sleep(latency)
    rng = np.random.default_rng(sum(map(ord, name)))
    half = size // 2
    t = rng.uniform(0, np.pi, size)
    upper = np.stack([np.cos(t[:half]), np.sin(t[:half])], axis=1)
    lower = np.stack([1 - np.cos(t[half:]), 0.5 - np.sin(t[half:])], axis=1)
    points = np.concatenate([upper, lower]) + rng.normal(0, 0.15, (size, 2))
    labels = np.concatenate([np.zeros(half), np.ones(size - half)])
    order = rng.permutation(size)
    return points[order], labels[order]


def embed(points, latency):
    """Stands in for a GPU feature model: random Fourier features of the points."""
    EXPENSIVE_CALLS["embed"] += 1
    time.sleep(latency)
    rng = np.random.default_rng(7)
    projection = rng.normal(0, 2.0, (points.shape[1], 64))
    phase = rng.uniform(0, 2 * np.pi, 64)
    return np.cos(points @ projection + phase) * np.sqrt(2 / 64)


class DemoIOHandler(NativeHandler):
    """Answers the pipeline's IO effects for real: download, feature model, checkpoint files."""

    types = (LoadDataset, ExtractFeatures, SaveCheckpoint)

    def __init__(self, latency=0.5):
        self.latency = latency
        self.name = "DemoIOHandler"

    def handle(self, effect, segment):
        if isinstance(effect, LoadDataset):
            return download_dataset(effect.name, effect.size, self.latency)
        if isinstance(effect, ExtractFeatures):
            return embed(effect.points, self.latency)
        os.makedirs(os.path.dirname(effect.path) or ".", exist_ok=True)
        np.save(effect.path, effect.weights)
        return effect.path
