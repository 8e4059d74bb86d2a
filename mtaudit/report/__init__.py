"""What an audit writes for people and machines: the report contract (JSON schema), Markdown and HTML pages,
the batch summary and index, written atomically.

May import: mtaudit.stages, mtaudit.nlp, mtaudit.text, mtaudit.base. The names below are the public API
(``from mtaudit import report; report.write_article(...)``).
"""

from mtaudit.report.contract import flagged_by, schema, slim, summary_frame, summary_row, validate
from mtaudit.report.markdown import markdown
from mtaudit.report.write import (
    INDEX_FILE,
    REPORT_FILE,
    SUMMARY_FILES,
    clean,
    outputs,
    recorded_summary,
    report_ids,
    rewrite_summary,
    write_article,
    write_summary,
)

__all__ = [
    "INDEX_FILE", "REPORT_FILE", "SUMMARY_FILES", "clean", "flagged_by", "markdown", "outputs", "recorded_summary",
    "report_ids", "rewrite_summary", "schema", "slim", "summary_frame", "summary_row", "validate", "write_article",
    "write_summary",
]
