"""The recording package's exceptions (what a caller catches, and the runner turns into exit codes)."""

from __future__ import annotations

from typing import Any


class RecordingError(Exception):
    """A recording cannot be written (existing file, an answer that cannot be stored)."""


class RecordingExistsError(RecordingError, FileExistsError):
    """The recording path exists and ``overwrite=True`` was not given; the file is left untouched."""


class RecordingFormatError(Exception):
    """The file is not a readable recording (foreign, corrupt, or from an unknown format version)."""


class RecordingMismatchError(RecordingFormatError):
    """The recording was made for another entry point than the one being replayed."""


class BlobIntegrityError(RecordingFormatError):
    """A blob is missing or its content no longer matches its sha256; it is not unpickled."""


class ReplayDivergenceError(Exception):
    """The replayed program performed an effect the recording does not have at that point."""

    def __init__(self, message: str, *, effect: Any = None, location: str = "", recorded: Any = None) -> None:
        super().__init__(message)
        self.effect = effect
        self.location = location
        self.recorded = recorded


class RecordingVersionError(ReplayDivergenceError):
    """``ReplayHandler(check_version=True)``: the recording was made by another version of the program."""


class ReplayedError(Exception):
    """Stands in for a recorded exception that could not be pickled: same type name and message."""
