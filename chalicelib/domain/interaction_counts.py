"""A contact's interaction counts, kept with the contact (issue 19, item 5): an "all time" rule reads a
count instead of the contact's whole history.

``Contact.agg`` maps ``<type>|<lead id or "">`` to how many interactions of that type the contact has
(naming that lead, or none): every type is counted, so a model that introduces a new "all time" rule
needs no backfill. The count is kept with the interaction's write, in the same transaction (a capture's
contact put; the tracking path's contact update), so an interaction is counted exactly once however often
its write is retried: the transaction's conditional put of the interaction cancels a second one.

A rule can be served from counts when its condition is a plain count of a type ("all time", no
``where``): the number of the lead's interactions of that type up to ``as_of`` is the kept count less
the ones dated after ``as_of``, and every one of those is among the interactions read (the read of a
window has no upper bound). A per-event rule of a decaying model weighs each interaction by its age and
a ``where`` looks into each one's properties: a model with such an "all time" rule reads the history.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.domain.entities import Interaction, Lead
    from chalicelib.domain.predictive import AnyModel

Counts = dict[str, int]
ANY = "*"


def count_key(interaction: Interaction) -> str:
    return f"{interaction.type}|{interaction.lead_id or ''}"


def counted(counts: Mapping[str, int] | None, interactions: Iterable[Interaction]) -> Counts:
    """``counts`` with these interactions added (a new map)."""
    found = dict(counts or {})
    for interaction in interactions:
        key = count_key(interaction)
        found[key] = found.get(key, 0) + 1
    return found


def summed(*all_counts: Mapping[str, int] | None) -> Counts | None:
    """The counts of contacts merged into one; ``None`` when any is unknown (not kept yet)."""
    if any(counts is None for counts in all_counts):
        return None
    total: Counts = {}
    for counts in all_counts:
        for key, n in (counts or {}).items():
            total[key] = total.get(key, 0) + n
    return total


def totals_for(lead: Lead, counts_by_contact: Mapping[str, Mapping[str, int]]) -> Counts:
    """What counts for ``lead``, per type (``*``: every type): as ``counted_interactions`` says, a
    contact's interactions count for all its leads except those naming another of its leads (a
    colleague's count for the account, whichever lead they name)."""
    totals: Counts = {}
    for contact_id, counts in counts_by_contact.items():
        for key, n in counts.items():
            kind, _, lead_id = key.rpartition("|")
            if contact_id == lead.contact_id and lead_id and lead_id != lead.lead_id:
                continue
            totals[kind] = totals.get(kind, 0) + n
            totals[ANY] = totals.get(ANY, 0) + n
    return totals


def countable(model: AnyModel) -> bool:
    """Whether every "all time" event condition of the model can be answered from counts."""
    from chalicelib.domain.scoring import ScoringModel

    if not isinstance(model, ScoringModel):
        return False  # a predictive model's days-since-last features read each interaction
    for rule in model.rules:
        for leaf in rule.when.events():
            if leaf.within_days is None and (
                leaf.where is not None or (rule.per_event and model.half_life_days is not None)
            ):
                return False
    audience = model.audience.events() if model.audience is not None else []
    return all(leaf.within_days is not None or leaf.where is None for leaf in audience)


def bounded_lookback(models: Sequence[AnyModel]) -> float | None:
    """The days of history these models need when "all time" rules read counts: the longest window
    (0: none); ``None`` when one of them must read the whole history."""
    if not all(countable(model) for model in models):
        return None
    windows = [
        leaf.within_days
        for model in models
        for leaf in model.event_leaves()  # type: ignore[union-attr]  # countable: rule models only
        if leaf.within_days is not None
    ]
    return max(windows, default=0.0)
