"""In-memory adapters implementing the ports of ``chalicelib/domain/ports.py``, and :func:`fake_deps`,
a :class:`~chalicelib.wiring.Deps` built from them: use-case tests run on these without moto or sockets.

They keep the adapters' contracts that the use cases rely on: versioned writes refused with
``ConcurrentUpdate`` when the version read is stale (and nothing written), hand-offs written once ever,
scores only over older evaluations, lists newest first. What only the database can do well (capture's
matching on the keys table, an erasure's sweep of every table) is left to the moto integration tests:
those methods raise ``NotImplementedError`` saying so."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from chalicelib.domain.access import ApiKey
from chalicelib.domain.capture import Capture
from chalicelib.domain.duplicates import Suspicion
from chalicelib.domain.entities import Account, Contact, Interaction, Lead
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.forms import FormDefinition
from chalicelib.domain.import_jobs import ChunkResult, ImportChunk, ImportHead
from chalicelib.domain.interactions import iso
from chalicelib.domain.lifecycle import Transition
from chalicelib.domain.matching import CapturePlan, Known
from chalicelib.domain.opportunities import Opportunity
from chalicelib.domain.outbox import EncodedHandoff, OutboxEntry
from chalicelib.domain.ratelimits import Decision, Limit, LimiterUnavailable
from chalicelib.domain.reports import LeadStage, ScoreLine
from chalicelib.domain.routing import AssignmentRecord, AssignmentWrite, Roster, Team, User
from chalicelib.domain.scoring import Score
from chalicelib.domain.stored import Job, LeadFilter, ModelHead, ModelVersion, OpportunityFilter, Page
from chalicelib.settings import Settings
from chalicelib.store.cache import TtlCache
from chalicelib.wiring import Deps
from tests.fakes_mail import FakeMail, FakeMailer

ON_MOTO = "runs on moto only (tests/integration): it needs the database's conditions and indexes"


def _page(items: list[Any], limit: int, cursor: str | None) -> Page:
    start = int(cursor or 0)
    end = start + limit
    return Page(items[start:end], str(end) if end < len(items) else None)


class Races:
    """Makes the next ``n`` versioned writes lose their race (``ConcurrentUpdate``), as a concurrent
    request would: the use case must re-read and try again."""

    def __init__(self) -> None:
        self.pending = 0
        self.lost = 0

    def lose(self, n: int = 1) -> None:
        self.pending += n

    def check(self) -> None:
        if self.pending:
            self.pending -= 1
            self.lost += 1
            raise ConcurrentUpdate("another write came first (fake)")


class FakeRecordStore:
    """Contacts, accounts, leads, interactions, forms, quarantine, receipts and API keys."""

    def __init__(self, races: Races | None = None) -> None:
        self.races = races or Races()
        self.contacts: dict[str, Contact] = {}
        self.accounts: dict[str, Account] = {}
        self.leads: dict[str, Lead] = {}
        self.interactions: dict[str, list[Interaction]] = {}
        self.forms: dict[str, FormDefinition] = {}
        self.keys: dict[str, ApiKey] = {}
        self.quarantined: dict[str, dict[str, Any]] = {}
        self.receipts: dict[str, dict[str, Any]] = {}
        self.notices: set[str] = set()

    # ------------------------------------------------------------ versioned writes (also used by the
    # other fakes: one "database")

    def save_contact(self, contact: Contact) -> None:
        self.races.check()
        stored = self.contacts.get(contact.contact_id)
        if stored is not None and stored.version != contact.version:
            raise ConcurrentUpdate("the contact changed meanwhile")
        self.contacts[contact.contact_id] = replace(contact, version=(contact.version or 0) + 1)

    def save_lead(self, lead: Lead) -> None:
        stored = self.leads.get(lead.lead_id)
        if stored is not None and stored.version != lead.version:
            raise ConcurrentUpdate("the lead changed meanwhile")
        self.leads[lead.lead_id] = replace(lead, version=(lead.version or 0) + 1)

    def add(self, *items: Contact | Account | Lead) -> None:
        """Put entities as stored (version 1), for a test's starting state."""
        for item in items:
            if isinstance(item, Contact):
                self.contacts[item.contact_id] = replace(item, version=item.version or 1)
            elif isinstance(item, Account):
                self.accounts[item.account_id] = replace(item, version=item.version or 1)
            else:
                self.leads[item.lead_id] = replace(item, version=item.version or 1)

    # ------------------------------------------------------------ LeadStore

    def find_for_capture(self, capture: Capture) -> Known:
        raise NotImplementedError(f"find_for_capture {ON_MOTO}")

    def write_capture(
        self, plan: CapturePlan, interaction: Interaction | None, receipt: str | None = None
    ) -> None:
        raise NotImplementedError(f"write_capture {ON_MOTO}")

    def get_contact(self, contact_id: str) -> Contact | None:
        return self.contacts.get(contact_id)

    def get_account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    def get_lead(self, lead_id: str) -> Lead | None:
        return self.leads.get(lead_id)

    def get_leads(self, lead_ids: Sequence[str]) -> list[Lead]:
        return [self.leads[i] for i in lead_ids if i in self.leads]

    def list_leads(self, where: LeadFilter, limit: int, cursor: str | None) -> Page:
        found = [
            lead
            for lead in sorted(self.leads.values(), key=lambda lead: lead.created_at, reverse=True)
            if (where.state is None or lead.state == where.state)
            and (where.status is None or lead.status == where.status)
            and (where.source is None or lead.source == where.source)
            and (where.contact_id is None or lead.contact_id == where.contact_id)
        ]
        return _page(found, limit, cursor)

    def list_contacts(self, marketing_only: bool | None, limit: int, cursor: str | None) -> Page:
        found = [
            c
            for c in sorted(self.contacts.values(), key=lambda c: c.created_at, reverse=True)
            if marketing_only is None or c.marketing_only == marketing_only
        ]
        return _page(found, limit, cursor)

    def contact_by_email(self, email: str) -> Contact | None:
        return next((c for c in self.contacts.values() if c.email == email), None)

    def get_contacts(self, contact_ids: Sequence[str], consistent: bool = True) -> list[Contact]:
        return [self.contacts[i] for i in dict.fromkeys(contact_ids) if i in self.contacts]

    def interactions_of(self, contact_id: str) -> Iterator[Interaction]:
        return iter(list(self.interactions.get(contact_id, [])))

    def contact_for_email(self, email: str, now: datetime) -> str | None:
        found = self.contact_by_email(email)
        if found is not None:
            return found.contact_id
        contact_id = f"c_fake{len(self.contacts) + 1}"
        self.contacts[contact_id] = Contact(contact_id, email, {"email": email}, now, now, version=1)
        return contact_id

    def record_interaction(self, interaction: Interaction) -> bool:
        held = self.interactions.setdefault(interaction.contact_id, [])
        if any(i.interaction_id == interaction.interaction_id for i in held):
            return False
        contact = self.contacts.get(interaction.contact_id)
        held.append(replace(interaction, account_id=contact.account_id if contact else None))
        return True

    def recount_interactions(self, contact_id: str, attempts: int = 5) -> bool:
        raise NotImplementedError(f"recount_interactions {ON_MOTO}")

    def restamp_interactions(self, contact_id: str, account_id: str | None) -> int:
        held = self.interactions.get(contact_id, [])
        moved = [i for i in held if i.account_id != account_id]
        self.interactions[contact_id] = [replace(i, account_id=account_id) for i in held]
        return len(moved)

    def note_activity(self, contact_id: str, at: datetime) -> None:
        contact = self.contacts.get(contact_id)
        if contact is not None and (contact.last_interaction_at is None or contact.last_interaction_at < at):
            self.contacts[contact_id] = replace(contact, last_interaction_at=at)

    # ------------------------------------------------------------ ReceiptStore

    def receipt(self, key: str) -> dict[str, Any] | None:
        return self.receipts.get(key)

    def erase_capture(self, detail: dict[str, Any]) -> None:
        raise NotImplementedError(f"erase_capture {ON_MOTO}")

    def mark_receipt(self, key: str, detail: dict[str, Any], now: datetime) -> bool:
        if key in self.receipts:
            return False
        self.receipts[key] = detail
        return True

    def claim_notice(self, key: str, now: datetime) -> bool:
        if key in self.notices:
            return False
        self.notices.add(key)
        return True

    def notice_done(self, key: str) -> None:
        self.notices.add(key)

    def release_notice(self, key: str) -> None:
        self.notices.discard(key)

    def replace_receipt(self, key: str, detail: dict[str, Any], now: datetime) -> None:
        self.receipts[key] = detail

    # ------------------------------------------------------------ FormStore, QuarantineStore, KeyStore

    def get_form(self, form_id: str) -> FormDefinition | None:
        return self.forms.get(form_id)

    def put_form(self, form_id: str, form: FormDefinition, now: datetime) -> bool:
        created = form_id not in self.forms
        self.forms[form_id] = form
        return created

    def quarantine(
        self,
        form_id: str,
        reason: str,
        payload: dict[str, Any],
        now: datetime,
        signals: Sequence[str] = (),
    ) -> str:
        quarantine_id = f"q_fake{len(self.quarantined) + 1}"
        self.quarantined[quarantine_id] = {
            "quarantine_id": quarantine_id,
            "form_id": form_id,
            "reason": reason,
            "payload": payload,
            "signals": list(signals),
            "state": "held",
            "received_at": iso(now),
        }
        return quarantine_id

    def get_quarantined(self, quarantine_id: str) -> dict[str, Any] | None:
        return self.quarantined.get(quarantine_id)

    def list_quarantined(
        self, wanted: dict[str, str], limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        found = [q for q in self.quarantined.values() if all(q.get(k) == v for k, v in wanted.items())]
        page = _page(found, limit, cursor)
        return page.items, page.next_cursor

    def mark_released(self, quarantine_id: str, capture: dict[str, Any], now: datetime) -> None:
        self.quarantined[quarantine_id] = {**self.quarantined[quarantine_id], "state": "released", **capture}

    def find_key(self, key_hash: str) -> ApiKey | None:
        return self.keys.get(key_hash)

    def put_key(self, key_hash: str, key: ApiKey) -> None:
        self.keys[key_hash] = key


class FakeScoring:
    """Models, scores and jobs; the bulk reads go to the record store's entities."""

    def __init__(self, records: FakeRecordStore) -> None:
        self.records = records
        self.models: dict[str, list[ModelVersion]] = {}
        self.active: dict[str, int] = {}
        self.scores: dict[str, dict[str, Score]] = {}
        self.jobs: dict[str, Job] = {}
        self.pages: dict[str, set[str]] = {}

    def activate(self, model_id: str, definition: dict[str, Any], now: datetime) -> None:
        """A model as published (version 1, active), for a test's starting state."""
        version = ModelVersion(model_id, 1, definition, "active", [], now, now)
        self.models[model_id] = [version]
        self.active[model_id] = 1

    # ------------------------------------------------------------ ModelStore

    def get_head(self, model_id: str) -> ModelHead | None:
        versions = self.models.get(model_id)
        if not versions:
            return None
        name = str(versions[-1].definition.get("name", model_id))
        latest = versions[-1]
        draft = latest.number if latest.state == "draft" else None
        return ModelHead(model_id, name, latest.number, draft, self.active.get(model_id), latest.created_at)

    def heads(self) -> list[ModelHead]:
        return [h for h in (self.get_head(m) for m in self.models) if h is not None]

    def versions(self, model_id: str) -> list[ModelVersion]:
        return list(self.models.get(model_id, []))

    def get_version(self, model_id: str, number: int) -> ModelVersion | None:
        return next((v for v in self.models.get(model_id, []) if v.number == number), None)

    def save_draft(
        self, model_id: str, name: str, definition: dict[str, Any], warnings: Sequence[str], now: datetime
    ) -> int:
        versions = self.models.setdefault(model_id, [])
        number = len(versions) + 1
        versions.append(
            ModelVersion(model_id, number, {**definition, "name": name}, "draft", list(warnings), now, None)
        )
        return number

    def publish(self, model_id: str, now: datetime) -> tuple[int, int | None]:
        versions = self.models[model_id]
        retired = self.active.get(model_id)
        self.active[model_id] = versions[-1].number
        versions[-1] = replace(versions[-1], state="active", published_at=now)
        return versions[-1].number, retired

    def active_definitions(self) -> list[tuple[str, int, dict[str, Any]]]:
        return [
            (model_id, number, version.definition)
            for model_id, number in self.active.items()
            if (version := self.get_version(model_id, number)) is not None
        ]

    # ------------------------------------------------------------ ScoreStore

    def scores_of(self, lead_id: str) -> dict[str, Score]:
        return dict(self.scores.get(lead_id, {}))

    def scores_for(self, lead_ids: Sequence[str], model_ids: Sequence[str]) -> dict[str, dict[str, Score]]:
        return {
            lead_id: {m: s for m, s in self.scores.get(lead_id, {}).items() if m in model_ids}
            for lead_id in lead_ids
        }

    def put_score(
        self, lead: Lead, score: Score, ages: bool, replacing: Score | None = None, *, compare: bool = False
    ) -> bool:
        held = self.scores.setdefault(lead.lead_id, {})
        old = held.get(score.model_id)
        if old is not None and (old.as_of > score.as_of or old == score):
            return False
        if compare and (old.as_of if old else None) != (replacing.as_of if replacing else None):
            return False
        held[score.model_id] = score
        return True

    def delete_score(
        self, lead_id: str, model_id: str, as_of: datetime, held: Sequence[dict[str, Any]] = ()
    ) -> bool:
        scores = self.scores.get(lead_id, {})
        old = scores.get(model_id)
        if old is None or old.as_of > as_of:
            return False
        del scores[model_id]
        return True

    def due_scores(self, now: datetime, limit: int = 500) -> list[tuple[str, str, str]]:
        return [
            (lead_id, model_id, self.records.leads[lead_id].contact_id)
            for lead_id, held in self.scores.items()
            for model_id, s in held.items()
            if s.next_check_at is not None and s.next_check_at <= now and lead_id in self.records.leads
        ][:limit]

    def clear_timer(self, lead_id: str, model_id: str, now: datetime) -> bool:
        from dataclasses import replace

        held = self.scores.get(lead_id, {})
        s = held.get(model_id)
        if s is None or s.aging is None or s.next_check_at is None or s.next_check_at > now:
            return False
        held[model_id] = replace(s, aging=replace(s.aging, next_check_at=None))
        return True

    def leads_by_score(
        self,
        model_id: str,
        grade: str | None,
        min_score: float | None,
        limit: int,
        cursor: str | None,
        below: float | None = None,
    ) -> Page:
        """``(lead_id, score)`` pairs, highest first, as the store's index query answers."""
        found = [
            (lead_id, scores[model_id].score)
            for lead_id, scores in self.scores.items()
            if model_id in scores
            and (grade is None or scores[model_id].grade == grade)
            and (min_score is None or (scores[model_id].score or 0) >= min_score)
            and (below is None or (scores[model_id].score or 0) < below)
            and lead_id in self.records.leads
        ]
        found.sort(key=lambda pair: -(pair[1] or 0))
        return _page(found, limit, cursor)

    # ------------------------------------------------------------ ScoringReads

    def contacts_of_account(self, account_id: str) -> list[str]:
        return [c.contact_id for c in self.records.contacts.values() if c.account_id == account_id]

    def interactions_since(self, contact_id: str, since: datetime | None) -> list[Interaction]:
        held = self.records.interactions.get(contact_id, [])
        return sorted(
            (i for i in held if since is None or i.occurred_at >= since), key=lambda i: i.occurred_at
        )

    def interactions_of_account(self, account_id: str, since: datetime | None) -> list[Interaction]:
        return sorted(
            (
                i
                for held in self.records.interactions.values()
                for i in held
                if i.account_id == account_id and (since is None or i.occurred_at >= since)
            ),
            key=lambda i: i.occurred_at,
        )

    def latest_interactions(self, contact_id: str, limit: int) -> list[Interaction]:
        held = self.records.interactions.get(contact_id, [])
        return sorted(held, key=lambda i: i.occurred_at, reverse=True)[:limit]

    def scan_leads(
        self, segment: int, segments: int, start: dict[str, Any] | None, limit: int
    ) -> tuple[list[Lead], dict[str, Any] | None]:
        mine = [
            lead
            for n, lead in enumerate(sorted(self.records.leads.values(), key=lambda lead: lead.lead_id))
            if n % segments == segment
        ]
        first = int((start or {}).get("n", 0))
        page = mine[first : first + limit]
        return page, ({"n": first + limit} if first + limit < len(mine) else None)

    def leads_in_state(self, state: str, limit: int) -> list[Lead]:
        return [lead for lead in self.records.leads.values() if lead.state == state][:limit]

    def get_accounts(self, account_ids: Sequence[str], consistent: bool = False) -> list[Account]:
        return [self.records.accounts[i] for i in dict.fromkeys(account_ids) if i in self.records.accounts]

    def iter_leads(self, page_size: int) -> Iterator[Lead]:
        return iter(list(self.records.leads.values()))

    # ------------------------------------------------------------ JobStore

    def create_job(
        self, job_id: str, kind: str, model_id: str, model_version: int, segments: int, now: datetime
    ) -> bool:
        if job_id in self.jobs:
            return False
        self.jobs[job_id] = Job(job_id, kind, model_id, model_version, segments, 0, 0, 0, now)
        return True

    def get_job(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def finish_job(self, job_id: str, result: dict[str, Any], leads: int) -> None:
        job = self.jobs[job_id]
        self.jobs[job_id] = replace(job, segments_done=job.segments, result=result, leads_scored=leads)

    def set_job_result(self, job_id: str, result: dict[str, Any]) -> None:
        self.jobs[job_id] = replace(self.jobs[job_id], result=result)

    def record_page(self, job_id: str, page_id: str, leads: int, segment_done: bool) -> None:
        seen = self.pages.setdefault(job_id, set())
        if page_id in seen:
            return
        seen.add(page_id)
        job = self.jobs[job_id]
        self.jobs[job_id] = replace(
            job,
            pages_done=job.pages_done + 1,
            leads_scored=job.leads_scored + leads,
            segments_done=job.segments_done + int(segment_done),
        )


@dataclass
class FakeRouting:
    """People, assignment rules, team turns, rep loads and each lead's assignments (``PeopleStore`` and
    ``AssignmentStore``); :meth:`apply` is what the lead's transaction writes (all or nothing: a turn
    read stale is refused with ``ConcurrentUpdate`` before anything is changed)."""

    records: FakeRecordStore
    users_by_id: dict[str, User] = field(default_factory=dict)
    teams_by_id: dict[str, Team] = field(default_factory=dict)
    rules_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    turns: dict[str, int] = field(default_factory=dict)
    loads: dict[str, int] = field(default_factory=dict)
    items: dict[tuple[str, int], AssignmentRecord] = field(default_factory=dict)
    #: Timers still pending: (lead, number) -> due time.
    due: dict[tuple[str, int], datetime] = field(default_factory=dict)

    def get_user(self, user_id: str) -> User | None:
        return self.users_by_id.get(user_id)

    def put_user(self, user: User, now: datetime) -> bool:
        created = user.user_id not in self.users_by_id
        self.users_by_id[user.user_id] = user
        return created

    def users(self) -> list[User]:
        return list(self.users_by_id.values())

    def get_team(self, team_id: str) -> Team | None:
        return self.teams_by_id.get(team_id)

    def put_team(self, team: Team, now: datetime) -> bool:
        created = team.team_id not in self.teams_by_id
        self.teams_by_id[team.team_id] = team
        return created

    def teams(self) -> list[Team]:
        return list(self.teams_by_id.values())

    def put_assignment_rule(self, rule_id: str, definition: dict[str, Any], now: datetime) -> bool:
        created = rule_id not in self.rules_by_id
        self.rules_by_id[rule_id] = definition
        return created

    def get_assignment_rule(self, rule_id: str) -> dict[str, Any] | None:
        return self.rules_by_id.get(rule_id)

    def delete_assignment_rule(self, rule_id: str) -> bool:
        return self.rules_by_id.pop(rule_id, None) is not None

    def assignment_rules(self, max_age: float = 0.0) -> list[tuple[str, dict[str, Any]]]:
        return sorted(self.rules_by_id.items())

    def roster(self) -> Roster:
        return Roster(dict(self.users_by_id), dict(self.teams_by_id), dict(self.loads), dict(self.turns))

    def check(self, lead_id: str, write: AssignmentWrite) -> None:
        if write.turn is not None and self.turns.get(write.turn.team_id, 0) != write.turn.expected:
            raise ConcurrentUpdate("the team's turn moved")
        if write.record is not None and (lead_id, write.record.number) in self.items:
            raise ConcurrentUpdate("the assignment exists")
        if write.settle_timer is not None and (lead_id, write.settle_timer) not in self.due:
            raise ConcurrentUpdate("the timer was settled")

    def apply(self, lead_id: str, write: AssignmentWrite, now: datetime) -> None:
        if write.turn is not None:
            self.turns[write.turn.team_id] = write.turn.to
        for user_id, delta in write.load.items():
            self.loads[user_id] = self.loads.get(user_id, 0) + delta
        if write.record is not None:
            self.items[(lead_id, write.record.number)] = write.record
            if write.record.due_at is not None:
                self.due[(lead_id, write.record.number)] = write.record.due_at
        if write.settle_timer is not None:
            self.due.pop((lead_id, write.settle_timer), None)
        if write.accepted is not None:
            number, at = write.accepted
            held = self.items.get((lead_id, number))
            if held is not None:
                self.items[(lead_id, number)] = replace(held, accepted_at=at)
            self.due.pop((lead_id, number), None)
        if write.first_activity is not None:
            number, at = write.first_activity
            held = self.items.get((lead_id, number))
            if held is not None and held.first_activity_at is None:
                self.items[(lead_id, number)] = replace(held, first_activity_at=at)
            self.due.pop((lead_id, number), None)

    def note_first_activity(self, lead_id: str, number: int, at: datetime) -> bool:
        held = self.items.get((lead_id, number))
        if held is None or held.first_activity_at is not None or held.at > at:
            return False
        self.items[(lead_id, number)] = replace(held, first_activity_at=at)
        self.due.pop((lead_id, number), None)
        return True

    def get_assignment(self, lead_id: str, number: int) -> AssignmentRecord | None:
        return self.items.get((lead_id, number))

    def assignments_of(self, lead_id: str) -> list[AssignmentRecord]:
        return sorted((a for (lead, _), a in self.items.items() if lead == lead_id), key=lambda a: a.number)

    def due_timers(self, now: datetime, limit: int) -> list[tuple[str, int]]:
        return sorted(key for key, at in self.due.items() if at <= now)[:limit]

    def settle_timer(self, lead_id: str, number: int, now: datetime) -> bool:
        return self.due.pop((lead_id, number), None) is not None

    def forget_lead(self, lead_id: str) -> int:
        doomed = [key for key in self.items if key[0] == lead_id]
        for key in doomed:
            self.items.pop(key)
            self.due.pop(key, None)
        return len(doomed)

    def assignments_qualified(self, since: datetime, until: datetime) -> Iterator[AssignmentRecord]:
        for record in self.items.values():
            if record.qualified_at is not None and since <= record.qualified_at <= until:
                yield record

    def leads_of_owner(self, owner: str, where: LeadFilter, limit: int, cursor: str | None) -> Page:
        leads = sorted(
            (
                lead
                for lead in self.records.leads.values()
                if lead.owner == owner
                and (where.state is None or lead.state == where.state)
                and (where.status is None or lead.status == where.status)
            ),
            key=lambda lead: lead.created_at,
            reverse=True,
        )
        return _page(leads, limit, cursor)


@dataclass
class FakeHandoffs:
    """Rules, the outbox and each lead's history, written with the lead's change (all or nothing)."""

    records: FakeRecordStore
    definitions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    outbox: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeline: dict[str, list[tuple[datetime, str, dict[str, Any]]]] = field(default_factory=dict)
    opportunities: dict[str, Opportunity] = field(default_factory=dict)
    #: People and assignments: what ``write_lead_change(assignment=...)`` writes with the lead.
    routing: FakeRouting | None = None

    def __post_init__(self) -> None:
        if self.routing is None:
            self.routing = FakeRouting(self.records)

    def put_rule(self, kind: str, rule_id: str, definition: dict[str, Any], now: datetime) -> bool:
        created = (kind, rule_id) not in self.definitions
        self.definitions[(kind, rule_id)] = definition
        return created

    def get_rule(self, kind: str, rule_id: str) -> dict[str, Any] | None:
        return self.definitions.get((kind, rule_id))

    def rules(self, kind: str, max_age: float = 0.0) -> list[tuple[str, dict[str, Any]]]:
        return sorted((rule_id, d) for (k, rule_id), d in self.definitions.items() if k == kind)

    def _refuse_existing(self, handoffs: Sequence[EncodedHandoff]) -> None:
        if any(h[0] in self.outbox for h in handoffs):
            raise ConcurrentUpdate("a hand-off was written before")

    def _write_outbox(self, handoffs: Sequence[EncodedHandoff], now: datetime) -> None:
        for handoff_id, lead_id, kind, origin, body in handoffs:
            self.outbox[handoff_id] = {
                "lead_id": lead_id,
                "kind": kind,
                "origin": origin,
                "envelope": body,
                "state": "pending",
                "created_at": now,
            }
            self.add_history(
                lead_id, "handoff", handoff_id, now, {"handoff_id": handoff_id, "handoff_kind": kind}
            )

    def write_lead_change(
        self,
        lead: Lead,
        transition: Transition | None,
        handoffs: Sequence[EncodedHandoff],
        now: datetime,
        contact: Contact | None = None,
        opportunity: Opportunity | None = None,
        closed_opportunities: Sequence[Opportunity] = (),
        assignment: AssignmentWrite | None = None,
    ) -> None:
        self.records.races.check()
        if assignment is not None and self.routing is not None:
            self.routing.check(lead.lead_id, assignment)
        stored = self.records.leads.get(lead.lead_id)
        if stored is not None and stored.version != lead.version:
            raise ConcurrentUpdate("the lead changed while it was being updated")
        for closed in closed_opportunities:
            held = self.opportunities.get(closed.opportunity_id)
            if held is None or held.version != closed.version:
                raise ConcurrentUpdate("an opportunity changed while the lead was being updated")
        if opportunity is not None and opportunity.opportunity_id in self.opportunities:
            raise ConcurrentUpdate("the opportunity exists")
        self._refuse_existing(handoffs)
        self.records.save_lead(lead)
        if transition is not None:
            self.add_history(
                lead.lead_id, "transition", transition.action, transition.at, transition.as_dict()
            )
        if contact is not None:
            self.records.contacts[contact.contact_id] = replace(contact, version=(contact.version or 0) + 1)
        for done in [*closed_opportunities, *([opportunity] if opportunity else [])]:
            self.opportunities[done.opportunity_id] = replace(done, version=(done.version or 0) + 1)
        if assignment is not None and self.routing is not None:
            self.routing.apply(lead.lead_id, assignment, now)
        self._write_outbox(handoffs, now)

    def write_handoffs(self, handoffs: Sequence[EncodedHandoff], now: datetime) -> bool:
        if not handoffs:
            return False
        try:
            self._refuse_existing(handoffs)
        except ConcurrentUpdate:
            return False
        self._write_outbox(handoffs, now)
        return True

    def _settle(self, handoff_id: str, state: str) -> bool:
        entry = self.outbox.get(handoff_id)
        if entry is None or entry["state"] != "pending":
            return False
        entry["state"] = state
        return True

    def mark_sent(self, handoff_id: str, now: datetime) -> None:
        self._settle(handoff_id, "sent")

    def mark_withheld(self, handoff_id: str, now: datetime) -> bool:
        return self._settle(handoff_id, "withheld")

    def unsent(self, older_than: datetime, limit: int) -> list[str]:
        return [
            handoff_id
            for handoff_id, e in self.outbox.items()
            if e["state"] == "pending" and e["created_at"] < older_than
        ][:limit]

    def get_handoff(self, handoff_id: str) -> OutboxEntry | None:
        e = self.outbox.get(handoff_id)
        if e is None:
            return None
        return OutboxEntry(handoff_id, e["lead_id"], e["kind"], e["state"], e["envelope"])

    def add_history(self, lead_id: str, kind: str, ident: str, at: datetime, data: dict[str, Any]) -> None:
        entries = self.timeline.setdefault(lead_id, [])
        entries[:] = [e for e in entries if (e[0], e[1], e[2].get("_id")) != (at, kind, ident)]
        entries.append((at, kind, {**json.loads(json.dumps(data, default=str)), "_id": ident}))

    def history(self, lead_id: str, limit: int, held: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
        entries = sorted(self.timeline.get(lead_id, []), key=lambda e: e[0], reverse=True)
        shown = [
            (iso(at), {**{k: v for k, v in data.items() if k != "_id"}, "kind": kind, "at": iso(at)})
            for at, kind, data in entries
        ]
        shown += [(e["at"], {**e["data"], "kind": e["kind"], "at": e["at"]}) for e in held]
        return [entry for _, entry in sorted(shown, key=lambda pair: pair[0], reverse=True)][:limit]

    def get_opportunity(self, opportunity_id: str) -> Opportunity | None:
        return self.opportunities.get(opportunity_id)

    def save_opportunity(self, opportunity: Opportunity) -> Opportunity:
        held = self.opportunities.get(opportunity.opportunity_id)
        if held is None or held.version != opportunity.version:
            raise ConcurrentUpdate("the opportunity changed while it was being updated")
        saved = replace(opportunity, version=(opportunity.version or 0) + 1)
        self.opportunities[opportunity.opportunity_id] = saved
        return saved

    def opportunities_of_lead(self, lead_id: str) -> list[Opportunity]:
        found = [o for o in self.opportunities.values() if o.lead_id == lead_id]
        return sorted(found, key=lambda o: o.created_at)

    def list_opportunities(self, where: OpportunityFilter, limit: int, cursor: str | None) -> Page:
        wanted = {
            k: v for k in ("stage", "owner", "status", "lead_id") if (v := getattr(where, k)) is not None
        }
        found = [
            o
            for o in sorted(self.opportunities.values(), key=lambda o: o.created_at, reverse=True)
            if all(getattr(o, k) == v for k, v in wanted.items())
        ]
        start = int(cursor or 0)
        more = start + limit < len(found)
        return Page(items=found[start : start + limit], next_cursor=str(start + limit) if more else None)

    def every_opportunity(self, limit: int) -> Iterator[Opportunity]:
        yield from sorted(self.opportunities.values(), key=lambda o: o.created_at, reverse=True)[:limit]


@dataclass
class FakeIdentity:
    """Blocking keys, suspicions, merges, segments and erasure markers."""

    records: FakeRecordStore
    suspicions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    merges: dict[str, dict[str, Any]] = field(default_factory=dict)
    segments: dict[str, dict[str, Any]] = field(default_factory=dict)
    markers: dict[str, dict[str, Any]] = field(default_factory=dict)
    tombstones: set[str] = field(default_factory=set)

    # ------------------------------------------------------------ DuplicateStore

    def candidates(self, contact: Contact, limit: int = 50) -> set[str]:
        """The stored contacts sharing a blocking key (the store's indexes hold them on the contacts;
        one being erased holds none)."""
        from chalicelib.domain.duplicates import blocking_keys

        wanted = blocking_keys(contact) if not contact.erasing else set()
        return {
            c.contact_id
            for c in self.records.contacts.values()
            if not c.erasing and blocking_keys(c) & wanted
        }

    def record_suspicions(self, suspicions: Iterable[Suspicion], now: datetime) -> int:
        written = 0
        for s in suspicions:
            self.suspicions[(s.contact_id, s.other_id)] = s.as_dict()
            written += 1
        return written

    def suspects_of(self, contact_id: str) -> list[dict[str, Any]]:
        found = []
        for (first, second), data in self.suspicions.items():
            if contact_id in (first, second):
                found.append({"contact_id": second if contact_id == first else first, **data})
        return found

    def list_duplicates(self, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        items = [dict(data) for _, data in sorted(self.suspicions.items())]
        page = _page(items, limit, cursor)
        return page.items, page.next_cursor

    def forget_contact(self, contact_id: str) -> int:
        removed = 0
        for pair in [p for p in self.suspicions if contact_id in p]:
            del self.suspicions[pair]
            removed += 1
        return removed

    # ------------------------------------------------------------ MergeStore, ContactWriter

    def save_contact(self, contact: Contact) -> None:
        self.records.save_contact(contact)

    def write_merge(
        self, survivor: Contact, duplicates: list[Contact], merge_id: str, data: dict[str, Any], now: datetime
    ) -> None:
        self.records.races.check()
        for contact in [survivor, *duplicates]:
            stored = self.records.contacts.get(contact.contact_id)
            if stored is None or stored.version != contact.version:
                raise ConcurrentUpdate("a contact of the merge changed meanwhile")
        self.records.save_contact(survivor)
        for duplicate in duplicates:
            del self.records.contacts[duplicate.contact_id]
        self.merges[merge_id] = dict(data)

    def write_unmerge(
        self, survivor: Contact, restored: list[Contact], merge_id: str, data: dict[str, Any], now: datetime
    ) -> None:
        if self.merges.get(merge_id, {}).get("state") != "done":
            raise ConcurrentUpdate("the merge was undone meanwhile")
        self.records.save_contact(survivor)
        for contact in restored:
            self.records.contacts[contact.contact_id] = replace(contact, version=1)
        self.merges[merge_id] = dict(data)

    def note_moved_interactions(self, merge_id: str, moved: dict[str, list[str]]) -> None:
        self.merges[merge_id]["moved_interactions"] = moved

    def get_merge(self, merge_id: str) -> dict[str, Any] | None:
        found = self.merges.get(merge_id)
        return dict(found) if found is not None else None

    def move_lead(self, lead_id: str, from_id: str, to_id: str) -> bool:
        lead = self.records.leads.get(lead_id)
        if lead is None or lead.contact_id != from_id:
            return False
        self.records.leads[lead_id] = replace(lead, contact_id=to_id)
        return True

    def move_interactions(
        self, from_id: str, to_id: str, only: set[str] | None = None, account_id: str | None = None
    ) -> list[str]:
        held = self.records.interactions.get(from_id, [])
        moving = [i for i in held if only is None or i.interaction_id in only]
        self.records.interactions[from_id] = [i for i in held if i not in moving]
        self.records.interactions.setdefault(to_id, []).extend(
            replace(i, contact_id=to_id, account_id=account_id) for i in moving
        )
        return [i.interaction_id for i in moving]

    # ------------------------------------------------------------ SegmentStore

    def put_segment(self, segment_id: str, definition: dict[str, Any], now: datetime) -> bool:
        created = segment_id not in self.segments
        self.segments[segment_id] = definition
        return created

    def get_segment(self, segment_id: str) -> dict[str, Any] | None:
        return self.segments.get(segment_id)

    # ------------------------------------------------------------ ErasureStore

    def erased(self, contact_id: str) -> str | None:
        found = self.markers.get(contact_id)
        return str(found["erasure_id"]) if found else None

    def erasure_marker(self, contact_id: str) -> dict[str, Any] | None:
        return self.markers.get(contact_id)

    def begin_erasure(self, contact: Contact, data: dict[str, Any], now: datetime) -> None:
        self.markers.setdefault(contact.contact_id, dict(data))
        if contact.email:
            self.tombstones.add(contact.email.strip().lower())
        if not contact.erasing:
            self.records.save_contact(replace(contact, erasing=True, updated_at=now))

    def erase_person(
        self,
        contact_id: str,
        email: str | None,
        lead_ids: list[str],
        account_id: str | None,
        personal: list[str],
    ) -> dict[str, Any]:
        raise NotImplementedError(f"erase_person {ON_MOTO}")

    def finish_erasure(self, contact_id: str, erasure_id: str, counts: dict[str, Any], now: datetime) -> None:
        self.markers[contact_id] = {**self.markers.get(contact_id, {}), "erased_at": iso(now)}


@dataclass
class FakeWork:
    """Working a lead: each write all or nothing on the versions read, like the transactions it fakes
    (checked before anything is written)."""

    records: FakeRecordStore
    handoffs: FakeHandoffs
    identity: FakeIdentity

    def _check(self, *entities: Contact | Lead, created: Contact | None = None) -> None:
        self.records.races.check()
        for entity in entities:
            held: Contact | Lead | None = (
                self.records.contacts.get(entity.contact_id)
                if isinstance(entity, Contact)
                else self.records.leads.get(entity.lead_id)
            )
            if held is None or held.version != entity.version:
                raise ConcurrentUpdate("changed meanwhile (fake)")
            if isinstance(held, Contact) and held.erasing:
                raise ConcurrentUpdate("the contact is being erased (fake)")
        if created is not None and (
            created.contact_id in self.records.contacts
            or (created.email and self.records.contact_by_email(created.email) is not None)
        ):
            raise ConcurrentUpdate("the e-mail was claimed meanwhile (fake)")

    def write_lead_edit(
        self, lead: Lead, contact: Contact | None, at: datetime, entry: dict[str, Any]
    ) -> None:
        self._check(lead, *([contact] if contact else []))
        self.records.save_lead(lead)
        if contact is not None:
            self.records.contacts[contact.contact_id] = replace(contact, version=(contact.version or 0) + 1)
        self.handoffs.add_history(lead.lead_id, "edit", f"v{(lead.version or 0) + 1}", at, entry)

    def add_note(self, lead_id: str, note_id: str, at: datetime, entry: dict[str, Any]) -> None:
        if lead_id not in self.records.leads:
            raise ConcurrentUpdate("the lead is gone (fake)")
        self.handoffs.add_history(lead_id, "note", note_id, at, entry)

    def write_link(
        self,
        lead: Lead,
        old: Contact | None,
        new: Contact,
        created: bool,
        email_key: str | None,
        at: datetime,
        entry: dict[str, Any],
        opportunities: Sequence[Opportunity] = (),
    ) -> None:
        for opportunity in opportunities:
            held = self.handoffs.opportunities.get(opportunity.opportunity_id)
            if held is None or held.version != opportunity.version:
                raise ConcurrentUpdate("the opportunity changed meanwhile (fake)")
        self._check(
            lead, *([old] if old else []), *([] if created else [new]), created=new if created else None
        )
        self.records.save_lead(lead)
        for contact in [*([old] if old else []), new]:
            self.records.contacts[contact.contact_id] = replace(contact, version=(contact.version or 0) + 1)
        for opportunity in opportunities:
            self.handoffs.opportunities[opportunity.opportunity_id] = replace(
                opportunity, version=(opportunity.version or 0) + 1
            )
        self.handoffs.add_history(lead.lead_id, "link", new.contact_id, at, entry)

    def email_owner(self, email: str) -> tuple[str | None, bool]:
        found = self.records.contact_by_email(email)
        return (found.contact_id if found else None), email.strip().lower() in self.identity.tombstones

    def interactions_page(self, contact_id: str, limit: int, cursor: str | None) -> Page:
        held = sorted(
            self.records.interactions.get(contact_id, []),
            key=lambda i: (i.occurred_at, i.interaction_id),
            reverse=True,
        )
        return _page(held, limit, cursor)

    def contacts_of_account(self, account_id: str, limit: int) -> list[str]:
        return [c.contact_id for c in self.records.contacts.values() if c.account_id == account_id][:limit]


@dataclass
class FakeQueue:
    """Remembers what was sent, in order."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def send_json(self, body: dict[str, Any], delay_seconds: int = 0) -> None:
        self.sent.append({"body": body, "delay_seconds": delay_seconds})

    def send_raw(self, body: str) -> None:
        self.sent.append({"body": json.loads(body)})

    def send_fifo(self, body: str, group: str, deduplication_id: str) -> None:
        self.sent.append({"body": json.loads(body), "group": group, "deduplication_id": deduplication_id})

    def send_many(self, bodies: list[dict[str, Any]]) -> None:
        for body in bodies:
            self.send_json(body)

    def send(self, interactions: list[dict[str, Any]]) -> None:
        self.send_json({"interactions": interactions})


@dataclass
class FakeRateLimits:
    """Token buckets that count what was taken: a bucket named in ``refused`` is empty (its value: the
    seconds to wait), and ``unavailable`` makes every take fail as an unreachable table does."""

    refused: dict[str, int] = field(default_factory=dict)
    unavailable: bool = False
    taken: list[tuple[str, Limit]] = field(default_factory=list)

    def take(self, bucket: str, limit: Limit, now_ms: int | None = None) -> Decision:
        if self.unavailable:
            raise LimiterUnavailable("ResourceNotFoundException")
        if bucket in self.refused:
            return Decision(False, self.refused[bucket])
        self.taken.append((bucket, limit))
        return Decision(True)


@dataclass
class FakeQueueAdmin:
    """Queues by URL, each a list of SQS-shaped messages."""

    queues: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def depth(self, url: str) -> int:
        return len(self.queues.get(url, []))

    def peek(self, url: str, limit: int) -> list[dict[str, Any]]:
        return list(self.queues.get(url, []))[:limit]

    def redrive(self, source_url: str, target_url: str) -> int:
        moving = self.queues.pop(source_url, [])
        self.queues.setdefault(target_url, []).extend(moving)
        return len(moving)

    def sweep(self, url: str, doomed: Callable[[dict[str, Any]], bool]) -> tuple[int, bool]:
        held = self.queues.get(url, [])
        kept = [m for m in held if not doomed(m)]
        self.queues[url] = kept
        return len(held) - len(kept), False


@dataclass
class FakeImports:
    heads: dict[str, ImportHead] = field(default_factory=dict)
    done: dict[str, list[ImportChunk]] = field(default_factory=dict)

    def create(
        self,
        import_id: str,
        name: str | None,
        mapping: dict[str, Any],
        object_key: str,
        now: datetime,
        status: str = "awaiting_upload",
    ) -> bool:
        if import_id in self.heads:
            return False
        self.heads[import_id] = ImportHead(import_id, name, status, mapping, object_key, now, now)
        return True

    def head(self, import_id: str) -> ImportHead | None:
        return self.heads.get(import_id)

    def chunks(self, import_id: str) -> list[ImportChunk]:
        return list(self.done.get(import_id, []))

    def start_planning(self, import_id: str, now: datetime) -> bool:
        head = self.heads[import_id]
        if head.status not in ("awaiting_upload", "planning"):
            return False
        self.heads[import_id] = replace(head, status="planning", updated_at=now)
        return True

    def planned(self, import_id: str, facts: dict[str, Any], rows: int, chunks: int, now: datetime) -> None:
        head = self.heads[import_id]
        self.heads[import_id] = replace(
            head, status="importing", rows_total=rows, chunks_total=chunks, updated_at=now
        )

    def failed(self, import_id: str, error: dict[str, Any], now: datetime) -> None:
        self.heads[import_id] = replace(self.heads[import_id], status="failed", error=error, updated_at=now)

    def chunk_done(self, import_id: str, result: ChunkResult, now: datetime) -> bool:
        done = self.done.setdefault(import_id, [])
        if any(c.chunk == result.chunk for c in done):
            return False
        done.append(ImportChunk(result.chunk, result.rows, result.errors))
        return True


@dataclass
class FakeObjects:
    objects: dict[str, bytes] = field(default_factory=dict)

    def put(self, key: str, data: bytes, content_type: str = "text/csv") -> None:
        self.objects[key] = data

    def get(self, key: str, max_bytes: int) -> bytes:
        return self.objects[key][:max_bytes]

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.objects if k.startswith(prefix))

    def upload_url(self, key: str, expires_seconds: int) -> str:
        return f"https://uploads.example.invalid/{key}?expires={expires_seconds}"


@dataclass
class FakeReports:
    """The report queries, answered from the fake record store and scores."""

    scoring: FakeScoring

    def leads_in_state(
        self, state: str, since: datetime | None, until: datetime | None
    ) -> Iterator[LeadStage]:
        leads = sorted(self.scoring.records.leads.values(), key=lambda lead: lead.created_at, reverse=True)
        for lead in leads:
            if (
                lead.state != state
                or (since and lead.created_at < since)
                or (until and lead.created_at > until)
            ):
                continue
            yield LeadStage(lead.lead_id, lead.state, lead.status, bool(lead.fired_rules), lead.source)

    def scores_of_model(self, model_id: str) -> Iterator[ScoreLine]:
        lines = [
            ScoreLine(lead_id, int(s[model_id].score), s[model_id].grade, s[model_id].sales_ready)
            for lead_id, s in self.scoring.scores.items()
            if model_id in s and s[model_id].score is not None
        ]
        return iter(sorted(lines, key=lambda line: -line.score))


def _no_linkedin() -> Any:
    raise NotImplementedError("give a LinkedIn client: fake_deps(linkedin=lambda: client)")


class FakeSigningKeys:
    """A user pool's keys held in memory (``SigningKeys``): ``rotate`` changes what the next refresh
    reads; ``fetches`` counts the reads, refreshes included."""

    def __init__(self, keys: dict[str, Any] | None = None) -> None:
        self.published: dict[str, Any] = dict(keys or {})
        self.kept: dict[str, Any] | None = None
        self.fetches = 0

    def keys(self, refresh: bool = False) -> Mapping[str, Any]:
        if self.kept is None or refresh:
            self.fetches += 1
            self.kept = dict(self.published)
        return self.kept


def fake_deps(settings: Settings | None = None, **overrides: Any) -> Deps:
    """A :class:`Deps` of in-memory fakes (one record store shared by the scoring, hand-off and identity
    fakes, as one database would be). ``overrides`` replace any adapter."""
    records = FakeRecordStore()
    scoring = FakeScoring(records)
    handoffs, identity = FakeHandoffs(records), FakeIdentity(records)
    parts: dict[str, Any] = {
        "store": records,
        "scoring": scoring,
        "handoffs": handoffs,
        "identity": identity,
        "tracking": FakeQueue(),
        "handoff_queue": FakeQueue(),
        "rescore_queue": FakeQueue(),
        "settings": settings or Settings(),
        "integrations": None,  # the integrations store keeps secrets encrypted: its tests run on moto
        "imports": FakeImports(),
        "import_queue": FakeQueue(),
        "linkedin_queue": FakeQueue(),
        "objects": FakeObjects(),
        "training_queue": FakeQueue(),
        "erasure_queue": FakeQueue(),
        "retry_queues": {},
        "queue_admin": FakeQueueAdmin(),
        "forms_cache": TtlCache(),
        "models_cache": TtlCache(),
        "keys_cache": TtlCache(),
        "reports": FakeReports(scoring),
        "linkedin": _no_linkedin,
        "linkedin_secret": lambda: "",  # not configured: give one with fake_deps(linkedin_secret=...)
        "rate_limits": FakeRateLimits(),
        "people": handoffs.routing,
        "assignments": handoffs.routing,
        "work": FakeWork(records, handoffs, identity),
        "mail": FakeMail(),
        "mailer": FakeMailer(),
        "tracking_key": lambda: b"test-tracking-key",
        "signing_keys": FakeSigningKeys(),
        "journeys": None,  # journeys run on moto (tests/integration/test_journeys.py)
        "journey_queue": FakeQueue(),
    }
    parts.update(overrides)
    return Deps(**parts)


def _conforms(records: FakeRecordStore) -> None:
    """mypy checks here that each fake implements its ports (a fake that drifts fails ``make lint``)."""
    from chalicelib.domain.ports import (
        AssignmentStore,
        HandoffRepository,
        IdentityRepository,
        ImportStore,
        Mailer,
        MailStore,
        ObjectStore,
        PeopleStore,
        QueueAdmin,
        RateLimiter,
        RecordStore,
        ReportReads,
        ScoringRepository,
        SigningKeys,
        TrackingQueue,
        WorkStore,
    )

    store: RecordStore = records
    scoring: ScoringRepository = FakeScoring(records)
    handoffs: HandoffRepository = FakeHandoffs(records)
    identity: IdentityRepository = FakeIdentity(records)
    queue: TrackingQueue = FakeQueue()
    admin: QueueAdmin = FakeQueueAdmin()
    imports: ImportStore = FakeImports()
    objects: ObjectStore = FakeObjects()
    reports: ReportReads = FakeReports(FakeScoring(records))
    limits: RateLimiter = FakeRateLimits()
    people: PeopleStore = FakeRouting(records)
    assignments: AssignmentStore = FakeRouting(records)
    work: WorkStore = FakeWork(records, FakeHandoffs(records), FakeIdentity(records))
    mail: MailStore = FakeMail()
    mailer: Mailer = FakeMailer()
    signing: SigningKeys = FakeSigningKeys()
    del work, mail, mailer, store, scoring, handoffs, identity, queue, admin, imports, objects
    del reports, limits, people, assignments, signing
