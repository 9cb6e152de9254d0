"""The canonical agency table: names as written in notes, and aliases onto canonical names."""

from __future__ import annotations

from collections.abc import Iterable

from reviewapp.importing.responsibility import normalize_agency_name
from reviewapp.models import Agency, AgencyAlias


def agency_canonical_names(*, names: Iterable[str]) -> list[str]:
    """Each name mapped through the alias table (区发改委 → 区发展改革委); unknown names as is."""
    normalized = [normalize_agency_name(n) for n in names]
    aliases = dict(
        AgencyAlias.objects.filter(alias__in=normalized).values_list("alias", "agency__name")
    )
    return [aliases.get(name, name) for name in normalized]


def agency_canonical(names: list[str]) -> list[str]:
    """``agency_canonical_names`` as the ``canonical`` callable that label comparisons take."""
    return agency_canonical_names(names=names)


def agency_register_names(*, names: Iterable[str]) -> int:
    """Add names that are neither an agency nor an alias yet. Returns how many were added."""
    wanted = {normalize_agency_name(n) for n in names} - {""}
    if not wanted:
        return 0
    known = set(Agency.objects.filter(name__in=wanted).values_list("name", flat=True))
    known |= set(AgencyAlias.objects.filter(alias__in=wanted).values_list("alias", flat=True))
    missing = sorted(wanted - known)
    Agency.objects.bulk_create([Agency(name=n) for n in missing], ignore_conflicts=True)
    return len(missing)
