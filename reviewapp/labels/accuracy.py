"""The accuracy measure: a labeler's predicted labels against the reviewed labels.

Pure functions over :class:`~reviewapp.labels.schema.ClauseLabels` (no Django, no database). The
caller builds one :class:`LabelPair` per reviewed clause and gets an :class:`AccuracyReport`;
``breakdown`` gives the same report per plan, reviewed sector or region.

Conventions, shared by every number in the report:

- A rate is a :class:`Rate` ``(value, n, low, high)``: ``value = successes / n`` with the 95 %
  Wilson score interval ``(low, high)`` (:func:`wilson`). When ``n == 0`` the value and the
  interval are None.
- An F1 score is also a :class:`Rate`, but F1 is not a binomial proportion, so it has no Wilson
  interval: ``low`` and ``high`` are always None. Its ``n`` is documented where it is computed.
- Agency names are compared on canonical names. ``canonical`` maps a list of names to their
  canonical names element-wise (one output per input, same order), like
  ``reviewapp.services.agencies.agency_canonical_names``; the default is the identity. It is called
  once per report (or per ``breakdown``) with every distinct name, so a database-backed function
  costs one query.
- Targets match on :func:`reviewapp.labels.compare.target_key` (value, unit and deadline year, with
  万/亿 prefixes and full-width ％ normalised), one-to-one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass
from math import sqrt
from typing import Any, Literal

from reviewapp.labels.compare import target_key
from reviewapp.labels.schema import ClauseLabels, Sector, Target

Z_95 = 1.959963984540054
"""The two-sided 95 % normal quantile, the default ``z`` of :func:`wilson`."""

Canonical = Callable[[list[str]], list[str]]
GroupKey = Literal["plan", "sector", "region"]

COMPARABLE_FIELDS = (
    "kind",
    "sector",
    "secondary_sectors",
    "targets",
    "deadlines",
    "lead_agencies",
    "responsible_agencies",
)


def _identity(names: list[str]) -> list[str]:
    return list(names)


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval ``(low, high)`` of ``successes / n``; None when ``n == 0``.

    ``center = (p + z²/2n) / (1 + z²/n)``, ``half = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²)``.
    The bounds are clipped to [0, 1] against rounding (at p = 0 the low bound is exactly 0).
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return None
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denominator
    half = z / denominator * sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    low = 0.0 if successes == 0 else max(0.0, center - half)
    high = 1.0 if successes == n else min(1.0, center + half)
    return low, high


@dataclass(frozen=True)
class Rate:
    """A share with its sample size and 95 % Wilson interval; all None but ``n`` when n = 0.

    Also used for F1 scores, which have ``low = high = None`` (no interval).
    """

    value: float | None
    n: int
    low: float | None = None
    high: float | None = None

    @classmethod
    def of(cls, successes: int, n: int, z: float = Z_95) -> Rate:
        interval = wilson(successes, n, z)
        if interval is None:
            return cls(None, 0, None, None)
        return cls(successes / n, n, interval[0], interval[1])

    @classmethod
    def score(cls, value: float | None, n: int) -> Rate:
        """A score without an interval (F1): None when ``n == 0``."""
        return cls(value if n else None, n, None, None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SetScores:
    """Micro-averaged matching of items (targets, agencies) summed over all clauses.

    ``precision = tp / (tp + fp)`` with ``n = tp + fp`` (the predicted items);
    ``recall = tp / (tp + fn)`` with ``n = tp + fn`` (the reviewed items); both with a Wilson
    interval and None when their denominator is 0. ``f1 = 2tp / (2tp + fp + fn)`` (the harmonic
    mean of the two) with ``n = tp + fp + fn`` (the items of both sides, a matched pair counted
    once), no interval, None when n = 0. A clause where both sides have no items adds nothing.
    """

    precision: Rate
    recall: Rate
    f1: Rate
    tp: int
    fp: int
    fn: int

    @classmethod
    def of(cls, tp: int, fp: int, fn: int) -> SetScores:
        total = 2 * tp + fp + fn
        return cls(
            precision=Rate.of(tp, tp + fp),
            recall=Rate.of(tp, tp + fn),
            f1=Rate.score(2 * tp / total if total else None, tp + fp + fn),
            tp=tp,
            fp=fp,
            fn=fn,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LabelPair:
    """One reviewed clause: the labeler's labels, the reviewed labels, and how to group it.

    ``accepted_unchanged`` is whether the reviewer accepted this suggestion without edits; None
    (unknown) leaves the pair out of ``accepted_unchanged_share``. The sector group is always the
    reviewed sector.
    """

    predicted: ClauseLabels
    reviewed: ClauseLabels
    plan: str | int | None = None
    region: str | None = None
    accepted_unchanged: bool | None = None


@dataclass(frozen=True)
class AccuracyReport:
    """Predicted against reviewed labels over ``n`` clauses. Every rate is over all ``n`` clauses
    unless said otherwise.

    - ``kind_accuracy``, ``sector_accuracy``: the field equals the reviewed one.
    - ``sector_macro_f1``: the unweighted mean over sector classes of the per-class F1
      ``2tp / (2tp + fp + fn)`` (one-vs-rest), over the classes that occur as a reviewed or a
      predicted sector; a class with neither support nor predictions is left out (it would be
      0/0). A predicted-only class counts with F1 = 0. ``n`` = clauses, no interval.
      ``sector_f1_by_class`` holds the per-class scores it averages.
    - ``sector_confusion``: ``{reviewed_sector: {predicted_sector: count}}``, non-zero cells only.
    - ``deadlines_exact_match``: the set of deadline years equals the reviewed set (two empty sets
      match).
    - ``targets``: see :class:`SetScores`; one-to-one matching on ``target_key``.
    - ``lead_agency_accuracy``: the set of canonical lead agencies equals the reviewed set (two
      empty sets match).
    - ``responsible_agencies``: :class:`SetScores` over the sets of canonical responsible agencies.
    - ``accepted_unchanged_share``: over the pairs whose ``accepted_unchanged`` is known.
    """

    n: int
    kind_accuracy: Rate
    sector_accuracy: Rate
    sector_macro_f1: Rate
    sector_f1_by_class: dict[str, float]
    sector_confusion: dict[str, dict[str, int]]
    deadlines_exact_match: Rate
    targets: SetScores
    lead_agency_accuracy: Rate
    responsible_agencies: SetScores
    accepted_unchanged_share: Rate

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts, lists, numbers, strings and None: ready for ``json.dumps``."""
        return asdict(self)


PairLike = LabelPair | tuple[ClauseLabels, ClauseLabels]


def _as_pairs(pairs: Iterable[PairLike]) -> list[LabelPair]:
    return [p if isinstance(p, LabelPair) else LabelPair(p[0], p[1]) for p in pairs]


def _canonical_map(labels: Iterable[ClauseLabels], canonical: Canonical) -> dict[str, str]:
    """Every agency name of ``labels`` → its canonical name, with one call of ``canonical``."""
    names: dict[str, None] = {}
    for one in labels:
        names.update(dict.fromkeys(one.lead_agencies))
        names.update(dict.fromkeys(one.responsible_agencies))
    if not names:
        return {}
    written = list(names)
    mapped = list(canonical(written))
    if len(mapped) != len(written):
        raise ValueError(
            f"canonical must return one name per name (got {len(mapped)} for {len(written)})"
        )
    return dict(zip(written, mapped, strict=True))


def _agencies(names: list[str], mapping: dict[str, str]) -> set[str]:
    return {mapping.get(name, name) for name in names}


def _target_keys(targets: list[Target]) -> Counter[tuple[object, ...]]:
    return Counter(target_key(t.value, t.unit, t.deadline_year) for t in targets)


def _field_equal(a: ClauseLabels, b: ClauseLabels, field: str, mapping: dict[str, str]) -> bool:
    if field in ("lead_agencies", "responsible_agencies"):
        return _agencies(getattr(a, field), mapping) == _agencies(getattr(b, field), mapping)
    if field == "targets":
        return _target_keys(a.targets) == _target_keys(b.targets)
    if field in ("deadlines", "secondary_sectors"):
        return set(getattr(a, field)) == set(getattr(b, field))
    if field in ("kind", "sector"):
        return bool(getattr(a, field) == getattr(b, field))
    raise ValueError(f"unknown field {field!r}; one of {', '.join(COMPARABLE_FIELDS)}")


def _sector_scores(
    pairs: list[LabelPair],
) -> tuple[Rate, dict[str, float], dict[str, dict[str, int]]]:
    cells = Counter((p.reviewed.sector, p.predicted.sector) for p in pairs)
    classes = [s for s in Sector if any(s in cell for cell in cells)]
    by_class: dict[str, float] = {}
    for sector in classes:
        tp = cells[(sector, sector)]
        fp = sum(c for (rev, pred), c in cells.items() if pred == sector and rev != sector)
        fn = sum(c for (rev, pred), c in cells.items() if rev == sector and pred != sector)
        by_class[sector.value] = 2 * tp / (2 * tp + fp + fn)
    macro = sum(by_class.values()) / len(by_class) if by_class else None
    confusion = {
        rev.value: {pred.value: cells[(rev, pred)] for pred in Sector if cells[(rev, pred)]}
        for rev in Sector
        if any(cells[(rev, pred)] for pred in Sector)
    }
    return Rate.score(macro, len(pairs)), by_class, confusion


def _report(pairs: list[LabelPair], mapping: dict[str, str]) -> AccuracyReport:
    n = len(pairs)

    def share(field: str) -> Rate:
        return Rate.of(sum(_field_equal(p.predicted, p.reviewed, field, mapping) for p in pairs), n)

    target_counts = [0, 0, 0]
    agency_counts = [0, 0, 0]
    for p in pairs:
        predicted, reviewed = _target_keys(p.predicted.targets), _target_keys(p.reviewed.targets)
        matched = sum((predicted & reviewed).values())
        target_counts[0] += matched
        target_counts[1] += predicted.total() - matched
        target_counts[2] += reviewed.total() - matched
        pred_set = _agencies(p.predicted.responsible_agencies, mapping)
        rev_set = _agencies(p.reviewed.responsible_agencies, mapping)
        agency_counts[0] += len(pred_set & rev_set)
        agency_counts[1] += len(pred_set - rev_set)
        agency_counts[2] += len(rev_set - pred_set)

    macro_f1, f1_by_class, confusion = _sector_scores(pairs)
    known = [p.accepted_unchanged for p in pairs if p.accepted_unchanged is not None]
    return AccuracyReport(
        n=n,
        kind_accuracy=share("kind"),
        sector_accuracy=share("sector"),
        sector_macro_f1=macro_f1,
        sector_f1_by_class=f1_by_class,
        sector_confusion=confusion,
        deadlines_exact_match=share("deadlines"),
        targets=SetScores.of(*target_counts),
        lead_agency_accuracy=share("lead_agencies"),
        responsible_agencies=SetScores.of(*agency_counts),
        accepted_unchanged_share=Rate.of(sum(known), len(known)),
    )


def accuracy_report(
    pairs: Iterable[PairLike], *, canonical: Canonical = _identity
) -> AccuracyReport:
    """The report over all ``pairs`` (``LabelPair`` or plain ``(predicted, reviewed)`` tuples)."""
    items = _as_pairs(pairs)
    mapping = _canonical_map((x for p in items for x in (p.predicted, p.reviewed)), canonical)
    return _report(items, mapping)


def _group_of(pair: LabelPair, key: GroupKey | Callable[[LabelPair], Hashable]) -> Hashable:
    if callable(key):
        return key(pair)
    if key == "plan":
        return pair.plan
    if key == "region":
        return pair.region
    if key == "sector":
        return pair.reviewed.sector.value
    raise ValueError(f"unknown group key {key!r}; 'plan', 'sector', 'region' or a function")


def breakdown(
    pairs: Iterable[PairLike],
    key: GroupKey | Callable[[LabelPair], Hashable],
    *,
    canonical: Canonical = _identity,
) -> dict[Hashable, AccuracyReport]:
    """The report per group: ``key`` is "plan", "region", "sector" (the REVIEWED sector, as its
    code) or a function of the pair. Groups appear in the order they first occur; pairs without a
    plan or region form the group None. ``canonical`` is called once for all groups."""
    items = _as_pairs(pairs)
    mapping = _canonical_map((x for p in items for x in (p.predicted, p.reviewed)), canonical)
    groups: dict[Hashable, list[LabelPair]] = {}
    for pair in items:
        groups.setdefault(_group_of(pair, key), []).append(pair)
    return {group: _report(members, mapping) for group, members in groups.items()}


def exact_match_share(
    a_list: Sequence[ClauseLabels],
    b_list: Sequence[ClauseLabels],
    field: str,
    *,
    canonical: Canonical = _identity,
) -> Rate:
    """The share of positions where ``a_list[i]`` and ``b_list[i]`` agree on ``field``.

    Agreement is as in the report: kind and sector equal; secondary_sectors, deadlines and
    (canonical) agencies as sets; targets as multisets of ``target_key``. Works for two labelers
    or two reviewers of the same clauses.
    """
    if len(a_list) != len(b_list):
        raise ValueError(f"the lists differ in length ({len(a_list)} and {len(b_list)})")
    if field not in COMPARABLE_FIELDS:
        raise ValueError(f"unknown field {field!r}; one of {', '.join(COMPARABLE_FIELDS)}")
    mapping: dict[str, str] = {}
    if field in ("lead_agencies", "responsible_agencies"):
        mapping = _canonical_map([*a_list, *b_list], canonical)
    agree = sum(_field_equal(a, b, field, mapping) for a, b in zip(a_list, b_list, strict=True))
    return Rate.of(agree, len(a_list))


def cohens_kappa(labels_a: Sequence[str], labels_b: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters over the same items: ``(p_o - p_e) / (1 - p_e)``.

    ``p_o`` is the observed agreement and ``p_e = Σ_k (a_k / n)(b_k / n)`` the chance agreement
    from each rater's own label frequencies; computed exactly on integer counts. None when
    ``n == 0``. When ``p_e == 1`` (both raters used one and the same label throughout) kappa is
    0/0; we return 1.0 then, since the observed agreement is necessarily 1 as well.
    """
    if len(labels_a) != len(labels_b):
        raise ValueError(f"the label lists differ in length ({len(labels_a)} and {len(labels_b)})")
    n = len(labels_a)
    if n == 0:
        return None
    agree = sum(a == b for a, b in zip(labels_a, labels_b, strict=True))
    counts_a, counts_b = Counter(labels_a), Counter(labels_b)
    chance = sum(counts_a[label] * counts_b[label] for label in counts_a)  # p_e · n²
    if chance == n * n:
        return 1.0 if agree == n else None  # the else cannot happen: p_e = 1 implies p_o = 1
    return (n * agree - chance) / (n * n - chance)
