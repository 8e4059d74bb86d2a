"""Exit codes, defined once: ``mtaudit audit``, ``mtaudit nightly`` and the library results that carry one.

Scripts and cron read these, so a number never changes meaning.
"""

CLEAN = 0  # nothing flagged, nothing failed
FLAGGED = 1  # at least one article judged machine-translated
USAGE = 2  # bad arguments or settings, or nothing could be audited; nothing was written
CONFIG = 2  # nightly: the config file is missing or wrong; nothing was done
PARTIAL = 3  # some inputs (items, feeds) could not be audited; the rest were. Wins over FLAGGED
LOCKED = 4  # nightly: another run holds the lock; nothing was done
FAILED = 5  # nightly: the run stopped on an internal error; the next run resumes where it stopped
INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C; the summary covers the articles finished
