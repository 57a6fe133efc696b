"""Keep the process-wide registry of migrated bindings as each test found it.

Tests here define ``@function_binding``/``@instance_binding`` functions; ``migrated_design()`` and
the runner read every registration, so one test's bindings must not leak into another's env.
"""

import pytest

from doeff_migrate.runtime import registry


@pytest.fixture(autouse=True)
def _restore_migrated_registry():
    saved = dict(registry._REGISTRY)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(saved)
