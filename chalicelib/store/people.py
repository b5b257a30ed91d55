"""Users, teams and assignment rules (``PeopleStore``), and the roster a routing decision reads: every
user and team, each team's turn and each rep's open leads, read consistently. A deployment has tens to
hundreds of people, so each kind is one partition read whole (``PeopleRecord``)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, DoesNotExist

from chalicelib.domain.routing import Roster, Team, User
from chalicelib.store.records import PeopleRecord

USER, TEAM, RULE, TURN, LOAD = "user", "team", "assignment-rule", "turn", "load"


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), sort_keys=True, default=str)


def user_from(record: PeopleRecord) -> User:
    data = json.loads(record.data or "{}")
    return User(
        user_id=record.sk,
        name=data.get("name", ""),
        email=data.get("email", ""),
        roles=tuple(data.get("roles", ())),
        teams=tuple(data.get("teams", ())),
        capacity=int(data.get("capacity", 0)),
        available=bool(data.get("available", True)),
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


def team_from(record: PeopleRecord) -> Team:
    data = json.loads(record.data or "{}")
    return Team(
        team_id=record.sk,
        name=data.get("name", ""),
        distribution=data.get("distribution", "round_robin"),
        manager=data.get("manager"),
        created_at=record.created_at,
        updated_at=record.updated_at,
    )


class PeopleRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        #: The assignment rules, kept ``max_age`` seconds for the stream functions (like qualification's).
        self._rules: tuple[float, list[tuple[str, dict[str, Any]]]] | None = None

    # ------------------------------------------------------------ definitions

    def _get(self, kind: str, ident: str) -> PeopleRecord | None:
        try:
            return PeopleRecord.get(kind, ident, consistent_read=True)
        except DoesNotExist:
            return None

    def _put(self, kind: str, ident: str, data: dict[str, Any], now: datetime) -> bool:
        """Store a definition (the admin's PUT: the last one wins); ``True`` when it is new."""
        found = self._get(kind, ident)
        PeopleRecord(
            kind,
            ident,
            data=_dump(data),
            created_at=found.created_at if found and found.created_at else now,
            updated_at=now,
        ).save()
        return found is None

    def _all(self, kind: str) -> list[PeopleRecord]:
        return list(PeopleRecord.query(kind, consistent_read=True))

    def get_user(self, user_id: str) -> User | None:
        found = self._get(USER, user_id)
        return user_from(found) if found else None

    def put_user(self, user: User, now: datetime) -> bool:
        data = {
            "name": user.name,
            "email": user.email,
            "roles": list(user.roles),
            "teams": list(user.teams),
            "capacity": user.capacity,
            "available": user.available,
        }
        return self._put(USER, user.user_id, data, now)

    def users(self) -> list[User]:
        return [user_from(r) for r in self._all(USER)]

    def get_team(self, team_id: str) -> Team | None:
        found = self._get(TEAM, team_id)
        return team_from(found) if found else None

    def put_team(self, team: Team, now: datetime) -> bool:
        data = {"name": team.name, "distribution": team.distribution, "manager": team.manager}
        return self._put(TEAM, team.team_id, data, now)

    def teams(self) -> list[Team]:
        return [team_from(r) for r in self._all(TEAM)]

    def put_assignment_rule(self, rule_id: str, definition: dict[str, Any], now: datetime) -> bool:
        self._rules = None
        return self._put(RULE, rule_id, definition, now)

    def get_assignment_rule(self, rule_id: str) -> dict[str, Any] | None:
        found = self._get(RULE, rule_id)
        return dict(json.loads(found.data or "{}")) if found else None

    def delete_assignment_rule(self, rule_id: str) -> bool:
        self._rules = None
        try:
            PeopleRecord(RULE, rule_id).delete(condition=PeopleRecord.pk.exists())
        except DeleteError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def assignment_rules(self, max_age: float = 0.0) -> list[tuple[str, dict[str, Any]]]:
        """Every rule; with ``max_age``, a list read at most that many seconds ago in this container (a
        rule saved takes effect within ``max_age`` everywhere, at once in the container that saved it)."""
        if max_age > 0 and self._rules is not None and self._rules[0] > time.monotonic():
            return self._rules[1]
        found = [(r.sk, dict(json.loads(r.data or "{}"))) for r in PeopleRecord.query(RULE)]
        self._rules = (time.monotonic() + max_age, found)
        return found

    # ------------------------------------------------------------ the roster

    def roster(self) -> Roster:
        """Every user and team with the teams' turns and the reps' open leads, read consistently (the
        decision's write is conditioned on the turns read)."""
        return Roster(
            users={u.user_id: u for u in self.users()},
            teams={t.team_id: t for t in self.teams()},
            open_leads={r.sk: int(r.open_leads or 0) for r in self._all(LOAD)},
            turns={r.sk: int(r.turn or 0) for r in self._all(TURN)},
        )
