"""pathlib's file IO methods: what ``doeff-migrate`` flags (``transforms/pathlib_io.py``) and the analysis
reports (``analysis/side_effects.py``) inside ``@do`` functions, read the same way by both.

A call is pathlib IO when the method is one of :data:`IO_METHODS` and its receiver is a path: a call of
``pathlib.Path`` (or ``PurePath``... constructors, ``Path.home()``/``Path.cwd()``), a path joined with ``/``,
or a name the function binds to one of those or declares as a ``Path`` parameter.
"""

from __future__ import annotations

IO_METHODS = frozenset(
    "read_text read_bytes write_text write_bytes open mkdir rmdir unlink touch rename replace symlink_to "
    "hardlink_to chmod iterdir glob rglob exists is_file is_dir stat".split()
)
"""Methods of ``pathlib.Path`` that read or change the file system."""

PATH_TYPES = frozenset({"pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath"})
"""Constructors (and annotations) of concrete paths."""

PATH_FACTORIES = frozenset({"home", "cwd"})
"""Class methods of ``pathlib.Path`` that return a path."""

MESSAGE = (
    "`{call}(...)` left as it is: pathlib file IO has no effect form; it runs where the program runs it, "
    "outside any handler (move it into a handler, or accept it)"
)
