"""The rule labeler's version changes exactly when its labels do.

Accuracy is measured per labeler version, so a version must name one behaviour: the seeds' rule
labels are fingerprinted together with ``RULES_VERSION``. A change of the labels without a new
version fails here, and so does a new version without a change.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from reviewapp.importing.formats import Limits
from reviewapp.importing.parsing import parse_plan
from reviewapp.labeling.preview import clause_preview
from reviewapp.labeling.rules import RULES_VERSION, RuleLabeler
from tests.conftest import SEED_FILES

FINGERPRINT = Path(__file__).parent / "fixtures" / "rule_labels_of_the_seeds.json"


def seed_labels_fingerprint() -> str:
    labeler = RuleLabeler()
    digest = hashlib.sha256()
    for name in sorted(SEED_FILES):
        path = SEED_FILES[name]
        plan = parse_plan(path.name, path.read_bytes(), Limits())
        for clause in plan.clauses:
            labels = clause_preview(clause, plan.metadata(), labeler)["suggestion"]["labels"]
            digest.update(json.dumps(labels, ensure_ascii=False, sort_keys=True).encode())
    return digest.hexdigest()


def test_the_rule_labeler_version_changes_exactly_when_the_seeds_rule_labels_do() -> None:
    recorded = json.loads(FINGERPRINT.read_text())
    now = {"version": RULES_VERSION, "labels_sha256": seed_labels_fingerprint()}
    assert now == recorded, (
        "The seeds' rule labels or RULES_VERSION changed alone. If the labels changed on "
        "purpose, bump RULES_VERSION in reviewapp/labeling/rules.py and write the new pair to "
        f"{FINGERPRINT.name}: {json.dumps(now)}"
    )
