"""Versioned prompt files from ``prompts/``.

The static system prompt is rendered once from the file, the sector table and the label schema,
so it is identical for every clause (providers cache such prefixes). Its version id is the file
name plus a hash of the rendered text: editing the file, the sectors or the schema makes a new
version, and every suggestion records the version it was made with.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reviewapp.labels.schema import SCHEMA_VERSION, SECTORS, ClauseLabels

PROMPTS_DIR = Path(__file__).resolve().parent.parent.parent / "prompts"
UNKNOWN_PROMPT = "No prompt named {name!r} in {folder} (expected {folder}/{name}.md)."

# The clause goes in as data, through instructor's context; never into the instructions.
USER_TEMPLATE = (
    "<heading_path>{{ heading_path }}</heading_path>\n<clause>\n{{ clause_text }}\n</clause>"
)


@dataclass(frozen=True)
class Prompt:
    name: str
    system: str

    @property
    def version(self) -> str:
        digest = hashlib.sha256(self.system.encode("utf-8")).hexdigest()[:12]
        return f"{self.name}@{digest}"


def sector_table() -> str:
    lines = ["| code | 中文 | covers |", "|---|---|---|"]
    lines += [f"| {code.value} | {zh} | {covers} |" for code, (zh, covers) in SECTORS.items()]
    return "\n".join(lines)


@lru_cache(maxsize=16)
def load_prompt(name: str, folder: Path = PROMPTS_DIR) -> Prompt:
    path = folder / f"{name}.md"
    if not path.is_file():
        raise FileNotFoundError(UNKNOWN_PROMPT.format(name=name, folder=folder))
    template = path.read_text(encoding="utf-8")
    schema = json.dumps(ClauseLabels.model_json_schema(), ensure_ascii=False, indent=1)
    system = (
        template.replace("{{ schema_version }}", SCHEMA_VERSION)
        .replace("{{ sector_table }}", sector_table())
        .replace("{{ json_schema }}", schema)
    )
    return Prompt(name=name, system=system)
