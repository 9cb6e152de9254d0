"""Label Studio: rows as import tasks (the reviewed labels as annotations, suggestions as
predictions) and the labeling config those tasks are meant for."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reviewapp.labels.schema import SECTORS, Kind

LABEL_STUDIO_CONFIG = (
    """<View>
  <Text name="text" value="$text"/>
  <Labels name="target" toName="text"><Label value="target"/><Label value="agency"/></Labels>
  <Choices name="kind" toName="text" choice="single">
"""
    + "".join(f'    <Choice value="{k.value}"/>\n' for k in Kind)
    + """  </Choices>
  <Choices name="sector" toName="text" choice="single">
"""
    + "".join(f'    <Choice value="{s.value}"/>\n' for s in SECTORS)
    + """  </Choices>
  <TextArea name="labels_json" toName="text" editable="true"/>
</View>
"""
)


def label_studio_result(labels: dict[str, Any] | None, text: str) -> list[dict[str, Any]]:
    """Labels as Label Studio results: kind and sector choices, target quotes and agencies as
    spans of the text, and the whole labels as JSON (nothing is lost)."""
    if not labels:
        return []
    result: list[dict[str, Any]] = [
        {
            "from_name": "kind",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": [labels["kind"]]},
        },
        {
            "from_name": "sector",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": [labels["sector"]]},
        },
    ]
    for target in labels.get("targets", []):
        start = text.find(target.get("quote", ""))
        if start >= 0:
            result.append(_span(start, target["quote"], "target"))
    for name in labels.get("responsible_agencies", []):
        start = text.replace("（", "(").replace("）", ")").find(name)
        if start >= 0:
            result.append(_span(start, text[start : start + len(name)], "agency"))
    result.append(
        {
            "from_name": "labels_json",
            "to_name": "text",
            "type": "textarea",
            "value": {"text": [json.dumps(labels, ensure_ascii=False)]},
        }
    )
    return result


def _span(start: int, text: str, label: str) -> dict[str, Any]:
    return {
        "from_name": "target",
        "to_name": "text",
        "type": "labels",
        "value": {"start": start, "end": start + len(text), "text": text, "labels": [label]},
    }


def label_studio_task(row: dict[str, Any]) -> dict[str, Any]:
    text = row["text"]
    return {
        "data": {
            "text": text,
            "clause_id": row["clause_id"],
            "plan_title": row["plan"]["title"],
            "heading_path": " / ".join(row["heading_path"]),
            "split": row["split"],
        },
        "predictions": [
            {
                "model_version": f"{s['labeler']}:{s['model']}:{s['prompt_version']}",
                "result": label_studio_result(s["labels"], text),
            }
            for s in row["suggestions"]
            if s["labels"]
        ],
        "annotations": [
            {
                "result": label_studio_result(row["labels"], text),
                "was_cancelled": row["labels"] is None,
                "completed_by": ";".join(r["reviewer"] for r in row["reviews"]),
            }
        ],
    }


def write_label_studio(path: Path, rows: Iterator[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[\n")
        first = True
        for row in rows:
            if not first:
                handle.write(",\n")
            handle.write(json.dumps(label_studio_task(row), ensure_ascii=False))
            first = False
        handle.write("\n]\n")
