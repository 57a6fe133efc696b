"""pathlib file IO in ``@do`` functions is flagged (DM303) and left as it is; elsewhere it is untouched."""

from __future__ import annotations

from .tools import check_noop, check_transformed

_FLAG = "# doeff-migrate: DM303: `{call}(...)` left as it is: pathlib file IO has no effect form; it runs where the program runs it, outside any handler (move it into a handler, or accept it)"


def test_pathlib_calls_on_known_paths_are_flagged():
    check_transformed(
        """\
        from pathlib import Path
        from doeff_migrate.runtime import do

        @do
        def save(base: Path, text):
            out = base / "report.txt"
            out.write_text(text)
            Path("logs").mkdir(exist_ok=True)
            name = text.replace("a", "b")
            return out.read_bytes()
        """,
        f"""\
        from pathlib import Path
        from doeff_migrate.runtime import do

        @do
        def save(base: Path, text):
            out = base / "report.txt"
            {_FLAG.format(call="out.write_text")}
            out.write_text(text)
            {_FLAG.format(call='Path("logs").mkdir')}
            Path("logs").mkdir(exist_ok=True)
            name = text.replace("a", "b")
            {_FLAG.format(call="out.read_bytes")}
            return out.read_bytes()
        """,
    )


def test_pathlib_outside_do_or_on_unknown_receivers_is_untouched():
    check_noop(
        """\
        import pathlib
        from doeff_migrate.runtime import do

        def plain(p: pathlib.Path):
            p.write_text("x")

        @do
        def other(handle, text):
            handle.write_text(text)
            return text.replace("a", "b")
        """
    )


def test_noqa_keeps_the_call_unflagged():
    check_noop(
        """\
        from pathlib import Path
        from doeff_migrate.runtime import do

        @do
        def save(text):
            Path("out.txt").write_text(text)  # noqa: DM303
        """
    )
