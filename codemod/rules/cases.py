"""Case sources several rules share (one construct that one rule fires on and others must not).

Each is a file's text as :class:`~doeff_migrate.codemod.rules.Valid`/:class:`~doeff_migrate.codemod.rules.Invalid` take it.
"""

from __future__ import annotations

DO_CALL_NOT_YIELDED = """
from doeff_migrate.runtime import do, handler, Ask, EffectBase

@do
def save(x):
    return x

@do
def main():
    save(1)
    return 2

def plain():
    save(2)
"""
"""A ``@do`` function called from another without ``yield`` (and from plain code)."""

INJECTED_WITH_DUNDER_PARAMETER = """
from pinjected import injected

@injected
def f(__tag, /, x):
    return __tag, x
"""
"""An ``@injected`` function whose dependency name starts with ``__``."""

INJECTED_WITH_PLAIN_DEPENDENCIES = """
from pinjected import injected

@injected
def f(a, /, _b, c):
    return a, _b, c
"""
"""An ``@injected`` function whose dependencies need no special handling."""

NUMPY_LOAD_IN_DO = """
import numpy as np
from doeff_migrate.runtime import do

@do
def total():
    return float(np.load("w.npy").sum())
"""
"""A catalogued ``np.load`` in a ``@do`` function outside the migrated package."""

RAY_NAME_IS_A_PARAMETER = """
import ray
from doeff_migrate.runtime import do

@do
def f(ray, x):
    return ray.get(x)
"""
"""``ray`` in a ``@do`` function is a parameter, not the module."""

RAY_TASK_OF_PLAIN_FUNCTION = """
import ray
from doeff_migrate.runtime import do

def square(x):
    return x * x

@do
def f(x):
    return ray.get(ray.remote(square).remote(x))
"""
"""A Ray task of a plain function, awaited at once, the compute phase rewrites."""

SELF_DEPENDENT_PROVIDER = """
from pinjected import injected

@injected
def fact(fact, /, n):
    return 1 if n == 0 else n * fact(n - 1)
"""
"""An ``@injected`` function that depends on its own key."""
