"""Dispatching rules: which waiting lot a free tool takes next, looked up by name.

A rule is a lexicographic ranking of the waiting lots, built from the data's ``RULE`` and ``FWLRANK``
(``rank_HP`` higher priority first, ``rank_RSETUP`` lots needing no setup first, ``rank_FIFO`` earliest
arrival in the queue first, ``rank_CR`` smallest critical ratio first) or from an override name of
:data:`RULES`:

* ``fifo`` — earliest arrival in the queue first;
* ``hotlot`` — highest priority first, then no-setup-needed first (setup avoidance), then FIFO;
* ``cr`` — smallest critical ratio ``(due − now) / remaining mean processing time`` first, then FIFO;
* ``data`` — what the data set names per tool family (the default).

``rule_LSSU`` (least setup) puts "needs no setup" before everything else. FIFO always breaks ties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class FamilyRule:
    """The ranking a tool family's queue is ordered by; ties fall back to FIFO."""

    name: str
    setup_first: bool = False
    """Lots needing no setup before all others (``rule_LSSU``)."""
    hp: bool = False
    """Higher priority first."""
    rsetup: bool = False
    """After priority: lots needing no setup first."""
    cr: bool = False
    """After the above: smallest critical ratio first."""

    @property
    def fifo_only(self) -> bool:
        return not (self.setup_first or self.hp or self.rsetup or self.cr)

    @property
    def hp_only(self) -> bool:
        """Priority, then FIFO."""
        return self.hp and not (self.setup_first or self.rsetup or self.cr)


RULES: Final[dict[str, FamilyRule]] = {
    "fifo": FamilyRule("fifo"),
    "hotlot": FamilyRule("hotlot", hp=True, rsetup=True),
    "cr": FamilyRule("cr", cr=True),
}
"""Override rules by name (``data`` = each family's own rule)."""

KNOWN_RULES: Final = ("rule_hotlotfirst", "rule_lssu", "rule_fifo", "rule_cr")
KNOWN_RANKS: Final = ("rank_hp", "rank_rsetup", "rank_fifo", "rank_cr")


class UnknownRuleError(ValueError):
    """A rule or rank name the engine does not know."""


def resolve_rule(data_rule: str, ranks: Sequence[str], override: str | None = None) -> FamilyRule:
    """The ranking for a family whose file names ``data_rule`` and ``ranks``, unless ``override``."""
    if override is not None and override != "data":
        found = RULES.get(override.lower())
        if found is None:
            valid = ", ".join([*sorted(RULES), "data"])
            raise UnknownRuleError(f"'{override}' is not a dispatching rule (valid: {valid})")
        return found
    rule = data_rule.strip().lower()
    if rule and rule not in KNOWN_RULES:
        raise UnknownRuleError(f"RULE '{data_rule}' is not known (valid: {', '.join(KNOWN_RULES)})")
    lowered = [r.strip().lower() for r in ranks if r.strip()]
    for r in lowered:
        if r not in KNOWN_RANKS:
            raise UnknownRuleError(f"FWLRANK '{r}' is not known (valid: {', '.join(KNOWN_RANKS)})")
    if rule == "rule_cr" and "rank_cr" not in lowered:
        lowered.append("rank_cr")
    return FamilyRule(
        name=data_rule or "fifo",
        setup_first=rule == "rule_lssu",
        hp="rank_hp" in lowered,
        rsetup="rank_rsetup" in lowered,
        cr="rank_cr" in lowered,
    )
