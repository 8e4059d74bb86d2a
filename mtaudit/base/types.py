"""Plain data that flows between the stages: every stage takes and returns these."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

# A long stage reports (stage, done, total); the CLI draws it as a bar, the library never prints.
Progress = Callable[[str, int, int], None]
# What the audit is working on now, (stage, article source), called as each stage of each article starts: an operator
# sees which input a long batch is on and for how long, so a stuck input shows (the CLI draws it under the bars).
Status = Callable[[str, str], None]


@dataclass
class Sentence:
    """A sentence with character offsets into its article's text as ingested."""

    index: int
    start: int
    end: int
    text: str


@dataclass
class Article:
    """One ingested article; ``text`` is the decoded file, ``sentences`` cover its prose only."""

    article_id: str
    source: str
    text: str
    title: str | None = None
    date: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    sentences: list[Sentence] = field(default_factory=list)


@dataclass
class Span:
    """Evidence inside a sentence: offsets are into the article text, like the sentence's."""

    start: int
    end: int
    text: str
    kind: str
    weight: float
    reason: str
    suggestion: str | None = None
    support: list[str] = field(default_factory=list)
    severity: str | None = None  # minor, major or critical (stages.severity); None until graded

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Link:
    """An aligned sentence from another article of the same story."""

    article_id: str
    sentence_index: int
    text: str
    similarity: float


@dataclass
class Problem:
    """A one-line warning or error about one input; the batch goes on without it."""

    source: str
    level: str  # "warning" | "error"
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.source}: {self.message} [{self.code}]"
