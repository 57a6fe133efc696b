"""Backends for the compat suite: every program runs on doeff 0.8.0 (the truth) and on the runtime."""

import pytest

# The comparison lives in the harness module; rewrite its asserts so a mismatch shows both outcomes.
pytest.register_assert_rewrite("compat_harness")


@pytest.fixture(params=["doeff", "runtime"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param
