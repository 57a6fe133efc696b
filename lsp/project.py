"""The project's facts the server's cross-file diagnostics read (``doeff_migrate.codemod.analysis.facts``)."""

from doeff_migrate.codemod.analysis.facts import FileFacts, HandlerInfo, ProjectFacts

ProjectIndex = ProjectFacts
"""The server's name for it."""

__all__ = ["HandlerInfo", "FileFacts", "ProjectIndex", "ProjectFacts"]
