"""Rules about the input the tool itself could not handle."""

from . import EDITOR, Invalid, Rule, Valid, register

SYNTAX_ERROR = register(
    Rule(
        code="DM001",
        name="unparsable-file",
        message="File could not be parsed; nothing was changed",
        what="Reports a file whose source is not valid Python (or not valid UTF-8) for the parser.",
        why=(
            "The codemod only rewrites what it can parse and re-parse; a file it cannot read is left "
            "byte-for-byte as it was, and this report says why it was skipped."
        ),
        example="def broken(:\n    pass",
        use_instead="def fixed():\n    pass",
        fix_safety="No fix is offered.",
        reported_by=(EDITOR,),
        valid=(
            Valid("""
                def fixed():
                    pass
                """),
        ),
        invalid=(
            Invalid("""
                def broken(:
                    pass
                """, line=1),
        ),
    )
)
