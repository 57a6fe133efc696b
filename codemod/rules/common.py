"""Texts several rule families share (fix safety, background), so each is written once."""

from __future__ import annotations

LEFT_AS_IS = "The codemod leaves the code exactly as it was and writes this flag; nothing is rewritten."
"""Fix safety of the compute, io and recording phases' refusals."""

NO_FIX = "No fix is offered: the construct is left exactly as it was, so behaviour cannot change."
"""Fix safety of the di phase's refusals."""

WHY_IO = (
    "A `@do` function that performs IO directly cannot be run under a stub, recording or replay "
    "handler: the call happens whatever handlers are installed. Yielding an effect instead lets the "
    "handler stack decide (real IO, a fake in tests, a recording, a replay)."
)
"""Why a direct side effect in effectful code is reported (the DM2xx/DM3xx rules add their own reasons)."""
