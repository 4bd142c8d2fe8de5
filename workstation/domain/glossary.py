"""The glossary: fixed English renderings of Russian terms, names never to translate, sensitive terms.

Translators keep it (stored encrypted in the vault); machine translation honours `terms` and `keep`;
redaction suggests every `sensitive` entry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Glossary:
    terms: dict[str, str] = field(default_factory=dict)  # Russian term -> fixed English rendering
    keep: list[str] = field(default_factory=list)  # names that stay as written (do not translate)
    sensitive: list[str] = field(default_factory=list)  # always suggested for redaction

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Glossary:
        return cls(
            terms=dict(data.get("terms", {})),
            keep=list(data.get("keep", [])),
            sensitive=list(data.get("sensitive", [])),
        )
