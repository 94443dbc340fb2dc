"""Vocabularies of evidence exports. Stored values are contracts: never rename one.

An export's status is the one run vocabulary of ``core.choices`` (``queued``, ``running``,
``succeeded``, ``failed``, ``cancelled``); ``ExportStatus`` is that enum under the name this app has
always used.
"""

from core.choices import FINISHED, RunStatus

ExportStatus = RunStatus

__all__ = ["FINISHED", "ExportStatus"]
