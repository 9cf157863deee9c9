"""Pathspecs: the addresses of Loom's data objects (`IngestDataset/123`, `TrainBackbone/7/end`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from loom.domain.errors import UsageError
from loom.domain.wording import with_article

_PART = r"[A-Za-z_][A-Za-z0-9_]*"
_PATHSPEC = re.compile(rf"^(?P<flow>{_PART})/(?P<run>[A-Za-z0-9_.:-]+)(?:/(?P<step>{_PART}))?$")


@dataclass(frozen=True)
class Pathspec:
    """A Metaflow-style pathspec: Flow/run_id[/step]. Never a file path or an object-store URI."""

    flow: str
    run_id: str
    step: str | None = None

    @classmethod
    def parse(cls, text: str) -> "Pathspec":
        m = _PATHSPEC.match(text.strip()) if text else None
        if not m:
            raise UsageError(
                f"'{text}' is not a pathspec; expected Flow/RunId such as IngestDataset/12"
            )
        return cls(m["flow"], m["run"], m["step"])

    @classmethod
    def is_valid(cls, text: str) -> bool:
        return bool(text) and bool(_PATHSPEC.match(text.strip()))

    def expect_flow(self, *flows: str) -> "Pathspec":
        """Raise a one-line UsageError unless this pathspec names one of `flows`."""
        if self.flow not in flows:
            raise UsageError(
                f"{self} is {with_article(self.flow)} run; this needs {with_article(' or '.join(flows))} pathspec"
            )
        return self

    @property
    def run(self) -> str:
        return f"{self.flow}/{self.run_id}"

    def __str__(self) -> str:
        return self.run if self.step is None else f"{self.run}/{self.step}"
