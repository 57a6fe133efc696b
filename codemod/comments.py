"""The comments the codemod writes and reads: its flag comments and ``# noqa``. Plain text, no parser, so the
analysis behind ``status`` and the language server reads them without loading LibCST."""

from __future__ import annotations

import re

__all__ = ["FLAG_PREFIX", "FLAG_COMMENT", "noqa_suppresses"]

FLAG_PREFIX = "# doeff-migrate: "
FLAG_COMMENT = re.compile(r"#\s*doeff-migrate:\s*(?P<code>DM\d{3})\b")
"""A flag comment the codemod writes (``FLAG_PREFIX`` + code), as read back."""

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


def noqa_suppresses(comment: str, code: str) -> bool:
    """A bare ``# noqa``, or one listing ``code``, in ``comment`` (``# noqa: E501`` keeps DM codes)."""
    for match in _NOQA.finditer(comment):
        codes = match.group("codes")
        if codes is None or code in re.split(r"[\s,]+", codes.upper()):
            return True
    return False
