"""``Ok``/``Err`` (answers of ``Try``) and ``Some``/``Nothing``, with doeff's accessors."""

from __future__ import annotations

from typing import Any


class Ok:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def is_ok(self) -> bool:
        return True

    def is_err(self) -> bool:
        return False

    def __eq__(self, other: object) -> bool:
        return type(other) is Ok and other.value == self.value

    def __hash__(self) -> int:
        return hash(("Ok", id(self.value)))

    def __repr__(self) -> str:
        return f"Ok({self.value!r})"


class Err:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def is_ok(self) -> bool:
        return False

    def is_err(self) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return type(other) is Err and other.error is self.error

    def __hash__(self) -> int:
        return hash(("Err", id(self.error)))

    def __repr__(self) -> str:
        return f"Err({self.error!r})"


class Some:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return type(other) is Some and other.value == self.value

    def __hash__(self) -> int:
        return hash(("Some", id(self.value)))

    def __repr__(self) -> str:
        return f"Some({self.value!r})"


class _Nothing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "Nothing"


Nothing = _Nothing()
