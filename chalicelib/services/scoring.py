"""Scoring leads: after a change (the scoring function on the streams), after a publish (the
rescoring job) and at each lead's timer for scores that age (decay, windows): a score that only ages is
computed when read (``Score.at``), and written again only when its grade or sales-ready flag crosses a
line or an interaction leaves a window (``run_timers``).

Safe to repeat: a score is written only when it changed, and only over an older evaluation
(``as_of``), so a redelivered stream record or queue message writes nothing new and an out-of-order
one never replaces a newer score. The scoring function consumes lead, contact, account and
interaction changes and writes only scores, so it never feeds itself."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.interaction_counts import bounded_lookback, totals_for
from chalicelib.domain.predictive import AnyModel, evaluate, parse_any, paths_read
from chalicelib.domain.scoring import Score
from chalicelib.domain.timeline import timeline_entry
from chalicelib.observability import count, logger
from chalicelib.wiring import Deps

if TYPE_CHECKING:
    from chalicelib.domain.changes import AnyChange


def active_models(deps: Deps) -> list[AnyModel]:
    """The active version of every model, re-read at most every ``models_cache_seconds``."""

    def load() -> list[AnyModel]:
        definitions = deps.scoring.active_definitions()
        return [parse_any(model_id, version, spec) for model_id, version, spec in definitions]

    return deps.models_cache.get("active", load, deps.settings.models_cache_seconds)


def lead_paths_read(deps: Deps) -> frozenset[str]:
    """The ``lead.*`` attribute paths the active models read (rules, audience, features)."""
    return frozenset(path for m in active_models(deps) for path in paths_read(m) if path.startswith("lead."))


def forget_models(deps: Deps) -> None:
    deps.models_cache.clear()


def lookback_start(models: Sequence[AnyModel], now: datetime) -> datetime | None:
    """The oldest interaction any of these models can see: one bounded query per contact."""
    lookbacks = [model.lookback_days for model in models]
    if any(days is None for days in lookbacks):
        return None
    return now - timedelta(days=max((d or 0.0) for d in lookbacks))


def rescore_contacts(
    contact_ids: Iterable[str],
    deps: Deps,
    now: datetime,
    models: Sequence[AnyModel] | None = None,
    written: set[tuple[str, str]] | None = None,
) -> int:
    """Rescore the leads of these contacts with every active model (or ``models``); returns how many
    scores were written or removed. The contacts, their accounts, leads and stored scores are read in
    batches (a rescoring page is a few calls, not a few per lead); interactions, one query per contact.
    Account-scoped models rescore each account once per call, however many of its contacts changed
    (issue 19, item 5): its contacts, their leads and scores in batches, its interactions from one
    index query (``by_account_time``), so the calls do not grow with the account's size."""
    chosen = list(models) if models is not None else active_models(deps)
    if not chosen:
        return 0
    ids = list(dict.fromkeys(contact_ids))
    # a contact being erased gets no new scores (its job removes the ones it has)
    contacts = {c.contact_id: c for c in deps.store.get_contacts(ids) if not c.erasing}
    accounts = {
        a.account_id: a
        for a in deps.scoring.get_accounts(
            [c.account_id for c in contacts.values() if c.account_id], consistent=True
        )
    }
    lead_ids = [lead_id for c in contacts.values() for lead_id in c.lead_ids]
    leads = {lead.lead_id: lead for lead in deps.store.get_leads(lead_ids)}
    scores = deps.scoring.scores_for(lead_ids, [m.model_id for m in chosen])
    by_contact = [m for m in chosen if m.scope == "contact"]
    by_account = [m for m in chosen if m.scope == "account"]
    changed = 0
    # the account-scoped models: each account once, with every contact of it that changed
    changing: dict[str, list[Contact]] = {}
    for contact_id in ids:
        contact = contacts.get(contact_id)
        if contact is None:
            continue
        account = accounts.get(contact.account_id) if contact.account_id else None
        mine = [leads[lead_id] for lead_id in contact.lead_ids if lead_id in leads]
        if by_contact and mine:
            since, counts = read_plan(by_contact, [contact], now)
            interactions = deps.scoring.interactions_since(contact.contact_id, since)
            changed += _apply(
                mine,
                {contact_id: contact},
                account,
                interactions,
                by_contact,
                deps,
                now,
                scores,
                written,
                counts,
            )
        if by_account:
            changing.setdefault(account.account_id if account else f"contact:{contact_id}", []).append(
                contact
            )
    for key, changed_contacts in changing.items():
        account = accounts.get(key)
        members = account_members(changed_contacts, account, deps)
        since, counts = read_plan(by_account, members, now)
        interactions = account_interactions(changed_contacts, members, account, since, deps)
        member_leads = deps.store.get_leads([lead_id for c in members for lead_id in c.lead_ids])
        unread = [lead.lead_id for lead in member_leads if lead.lead_id not in scores]
        scores.update(deps.scoring.scores_for(unread, [m.model_id for m in by_account]) if unread else {})
        changed += _apply(
            member_leads,
            {c.contact_id: c for c in members},
            account,
            interactions,
            by_account,
            deps,
            now,
            scores,
            written,
            counts,
        )
    return changed


def read_plan(
    models: Sequence[AnyModel], contacts: Sequence[Contact], now: datetime
) -> tuple[datetime | None, dict[str, dict[str, int]] | None]:
    """Where to start reading interactions, and the contacts' kept counts when the models' "all time"
    rules count from them (then only the longest window is read: issue 19, item 5). The whole history
    when a model needs each interaction of all time (``interaction_counts.countable``) or a contact has
    no counts yet (written before them, until the backfill)."""
    days = bounded_lookback(models)
    if days is None or any(c.agg is None for c in contacts):
        return lookback_start(models, now), None
    return now - timedelta(days=days), {c.contact_id: c.agg or {} for c in contacts}


def account_members(changed: Sequence[Contact], account: Account | None, deps: Deps) -> list[Contact]:
    """The account's contacts: those whose change is being handled (read consistently) and the others
    (``by_account``, one query, then one batch read); the changed contacts alone without an account."""
    if account is None:
        return list(changed)
    mine = {c.contact_id for c in changed}
    others = [c for c in deps.scoring.contacts_of_account(account.account_id) if c not in mine]
    return [*changed, *(c for c in deps.store.get_contacts(others) if not c.erasing)]


def account_interactions(
    changed: Sequence[Contact],
    members: Sequence[Contact],
    account: Account | None,
    since: datetime | None,
    deps: Deps,
) -> list[Interaction]:
    """The account's interactions since ``since``: the changed contacts' from ``by_time``
    (consistently: a new interaction is there at once), the others' from the account's index
    (``by_account_time``, one query). An interaction counts for the account of its contact now: one
    stamped with an account its contact has left is dropped, and a contact that joins one has its
    interactions stamped again (``restamp_interactions``)."""
    own = [i for c in changed for i in deps.scoring.interactions_since(c.contact_id, since)]
    if account is None:
        return own
    mine = {c.contact_id for c in changed}
    member_ids = {c.contact_id for c in members}
    return own + [
        i
        for i in deps.scoring.interactions_of_account(account.account_id, since)
        if i.contact_id in member_ids and i.contact_id not in mine
    ]


def account_context(
    changed: Sequence[Contact], account: Account | None, since: datetime | None, deps: Deps
) -> tuple[list[Contact], list[Interaction]]:
    """The account's contacts and their interactions since ``since`` (a draft's simulation)."""
    members = account_members(changed, account, deps)
    return members, account_interactions(changed, members, account, since, deps)


def _apply(
    leads: Sequence[Lead],
    contacts: dict[str, Contact],
    account: Account | None,
    interactions: Sequence[Interaction],
    models: Sequence[AnyModel],
    deps: Deps,
    now: datetime,
    scores: dict[str, dict[str, Score]],
    written: set[tuple[str, str]] | None = None,
    counts: dict[str, dict[str, int]] | None = None,
) -> int:
    changed = 0
    for lead in leads:
        # read with the page when it could be; a colleague's lead (account scope) is read here
        stored = scores[lead.lead_id] if lead.lead_id in scores else deps.scoring.scores_of(lead.lead_id)
        totals = totals_for(lead, counts) if counts is not None else None
        for model in models:
            new = evaluate(model, lead, contacts.get(lead.contact_id), account, interactions, now, totals)
            old = stored.get(model.model_id)
            if new is None:
                if old is not None and deps.scoring.delete_score(
                    lead.lead_id, model.model_id, now, old.timeline
                ):
                    changed += 1
                    count("ScoreRemoved")
                continue
            score, old = _replace(deps, lead, model, new, old, now)
            if score is None:
                continue
            changed += 1
            if written is not None:
                written.add((lead.lead_id, model.model_id))
            count("LeadScored")
    return changed


#: How often a score write that lost a race (another evaluation replaced the score read) reads the
#: score again and retries.
REPLACE_ATTEMPTS = 5


def _replace(
    deps: Deps, lead: Lead, model: AnyModel, new: Score, old: Score | None, now: datetime
) -> tuple[Score | None, Score | None]:
    """Write ``new`` in place of ``old`` (the score read); ``(written, replaced)``, or ``(None, _)``
    when nothing was written (the same result is stored, or a newer evaluation). Stream functions run
    side by side (a new lead's interaction, contact and lead changes each rescore it), so the write
    is a compare-and-set on the score read: the evaluation that loses reads the winner's score and
    writes only if its result differs (one "no score before" entry in the timeline, not two)."""
    for _ in range(REPLACE_ATTEMPTS):
        if new.same_result(old):
            return None, old
        candidate = new.following(old)
        if old is None or old.summary() != candidate.summary():
            # a change to show on the timeline (not a breakdown moved by decay alone), kept on the
            # score item it is written with (issue 19: no LeadHistory item of its own)
            shown = {**candidate.summary(), "previous_score": old.score if old else None}
            candidate = replace(
                candidate,
                timeline=(*candidate.timeline, timeline_entry("score", model.model_id, now, shown)),
            )
        if deps.scoring.put_score(lead, candidate, model.ages, old, compare=True):
            return candidate, old
        old = deps.scoring.scores_of(lead.lead_id).get(model.model_id)
        if old is not None and old.as_of > new.as_of:
            return None, old  # a newer evaluation is stored
    return None, old


# ---------------------------------------------------------------- what a change touches


def contacts_touched(change: AnyChange, deps: Deps) -> list[str]:
    """The contacts whose leads a change may rescore; ``[]`` for changes no score depends on (a
    contact's last-activity time, a version number)."""
    from chalicelib.domain.changes import AccountChange, ContactChange, InteractionChange, LeadChange, differs

    if isinstance(change, InteractionChange):
        if change.event != "INSERT" or (change.new is not None and change.new.scored_with_contact):
            # written with a change of its contact that rescores the contact (capture: issue 19)
            return []
        return [change.contact_id]
    if isinstance(change, LeadChange):
        # a new lead is always written with its contact's lead_ids (one transaction), whose change
        # rescores the contact already: the INSERT would only repeat the work
        lead = change.new or change.old
        relevant = change.event == "REMOVE" or (
            change.event == "MODIFY"
            and (
                differs(change.old, change.new, ("fields", "account_id"))
                # the lifecycle (qualification's status, a closed lead) matters only to a model that
                # reads it: a lead's qualification does not rescore it otherwise (issue 19)
                or any(
                    differs(change.old, change.new, (name,)) and f"lead.{name}" in lead_paths_read(deps)
                    for name in ("state", "status")
                )
            )
        )
        return [lead.contact_id] if relevant and lead is not None else []
    if isinstance(change, AccountChange):
        if change.event == "MODIFY" and differs(change.old, change.new, ("fields",)):
            return deps.scoring.contacts_of_account(change.account_id)
        return []
    if isinstance(change, ContactChange):
        changed = change.event == "INSERT" or (
            change.event == "MODIFY"
            and differs(change.old, change.new, ("fields", "consent", "account_id", "lead_ids"))
        )
        return [change.contact_id] if changed else []
    return []


# ---------------------------------------------------------------- rescoring jobs


def rescore_page(message: dict[str, Any], deps: Deps, now: datetime) -> None:
    """One page of one scan segment of a rescoring job; sends the next page's message. A page is
    counted once however often its message arrives; rescoring it again writes nothing new."""
    model_id, version = message["model_id"], int(message["version"])
    head = deps.scoring.get_head(model_id)
    record = deps.scoring.get_version(model_id, version)
    leads, next_key = deps.scoring.scan_leads(
        int(message["segment"]),
        int(message["segments"]),
        message.get("start"),
        deps.settings.rescore_page_size,
    )
    if head is not None and head.active_version == version and record is not None:
        model = parse_any(model_id, version, record.definition)
        rescore_contacts([lead.contact_id for lead in leads], deps, now, [model])
    else:
        logger.info(
            "rescoring skipped: version no longer active", extra={"model_id": model_id, "version": version}
        )
    if next_key is not None:
        deps.rescore_queue.send_json({**message, "start": next_key})
    page_id = (
        f"{message['segment']}:"
        + hashlib.sha256(json.dumps(message.get("start"), sort_keys=True).encode()).hexdigest()[:16]
    )
    deps.scoring.record_page(message["job_id"], page_id, len(leads), segment_done=next_key is None)


def start_job(kind: str, model: AnyModel | tuple[str, int], deps: Deps, now: datetime, job_id: str) -> bool:
    """Record the job, then fan its segments out. Running it again sends the segments again, which is
    harmless: pages are counted once and rescoring a page twice writes nothing new. ``True`` when this
    call created the job."""
    model_id, version = model if isinstance(model, tuple) else (model.model_id, model.version)
    segments = deps.settings.rescore_segments
    created = deps.scoring.create_job(job_id, kind, model_id, version, segments, now)
    deps.rescore_queue.send_many(
        [
            {
                "job_id": job_id,
                "model_id": model_id,
                "version": version,
                "segment": n,
                "segments": segments,
                "start": None,
            }
            for n in range(segments)
        ]
    )
    return created


def run_timers(deps: Deps, now: datetime) -> dict[str, int]:
    """The leads whose score timer is due (a crossing of a grade's or the sales-ready line by decay, or
    an interaction leaving a window) are rescored from their interactions; what they write sets the
    next timer. A due timer whose score was not rewritten (its model is no longer active, its lead or
    contact is gone) is dropped. Replaces the daily rescoring of every score of an aging model."""
    due = deps.scoring.due_scores(now)
    if not due:
        return {"due": 0, "rescored": 0, "cleared": 0}
    written: set[tuple[str, str]] = set()
    rescored = rescore_contacts([contact_id for _, _, contact_id in due], deps, now, written=written)
    cleared = sum(
        1
        for lead_id, model_id, _ in due
        if (lead_id, model_id) not in written and deps.scoring.clear_timer(lead_id, model_id, now)
    )
    count("ScoreTimersDue", len(due))
    return {"due": len(due), "rescored": rescored, "cleared": cleared}
