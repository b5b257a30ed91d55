"""Users, teams and assignment rules as an admin defines them (``PUT /v1/users/{id}``,
``/v1/teams/{id}``, ``/v1/assignment-rules/{id}``).

Safe to repeat: a definition is stored whole under its id; storing it again changes nothing. What a
definition names must exist: a user's teams, a team's manager, a rule's user or team (a team with no
member, or a user who is away, is refused for a rule: the lead would have nobody)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import FieldError, NotFound, ValidationFailed
from chalicelib.domain.routing import (
    AssignmentRule,
    Team,
    User,
    named_targets,
    parse_assignment_rule,
    valid_id,
)

if TYPE_CHECKING:
    from chalicelib.domain.ports import PeopleStore, ScoringRepository


def put_user(user: User, people: PeopleStore) -> tuple[bool, User]:
    """Store a user; 422 naming ``teams`` when a team does not exist."""
    valid_id(user.user_id, "user_id")
    known = {t.team_id for t in people.teams()}
    missing = [t for t in user.teams if t not in known]
    if missing:
        raise ValidationFailed([FieldError("teams", f"no such team: {', '.join(missing)}")])
    now = datetime.now(UTC)
    created = people.put_user(user, now)
    stored = people.get_user(user.user_id)
    return created, stored or user


def get_user(user_id: str, people: PeopleStore) -> User:
    found = people.get_user(user_id)
    if found is None:
        raise NotFound("user", user_id)
    return found


def list_users(people: PeopleStore, team: str | None = None) -> list[User]:
    users = sorted(people.users(), key=lambda u: u.user_id)
    return [u for u in users if team is None or team in u.teams]


def put_team(team: Team, people: PeopleStore) -> tuple[bool, Team]:
    """Store a team; 422 naming ``manager`` when the manager is not a user."""
    valid_id(team.team_id, "team_id")
    if team.manager is not None and people.get_user(team.manager) is None:
        raise ValidationFailed([FieldError("manager", f"no such user: {team.manager}")])
    created = people.put_team(team, datetime.now(UTC))
    return created, people.get_team(team.team_id) or team


def get_team(team_id: str, people: PeopleStore) -> tuple[Team, list[User]]:
    found = people.get_team(team_id)
    if found is None:
        raise NotFound("team", team_id)
    return found, list_users(people, team_id)


def list_teams(people: PeopleStore) -> list[tuple[Team, list[User]]]:
    users = people.users()
    return [
        (team, [u for u in users if team.team_id in u.teams])
        for team in sorted(people.teams(), key=lambda t: t.team_id)
    ]


def known_models(scoring: ScoringRepository) -> frozenset[str]:
    return frozenset(head.model_id for head in scoring.heads())


def check_targets(rule: AssignmentRule, people: PeopleStore) -> None:
    """Every user and team a rule names exists and can take a lead now (422 naming the field)."""
    errors = []
    users = {u.user_id: u for u in people.users()}
    for where, kind, ident in named_targets(rule):
        if kind == "user":
            user = users.get(ident)
            if user is None:
                errors.append(FieldError(where, f"no such user: {ident}"))
            elif not user.available:
                errors.append(FieldError(where, f"user {ident} is away"))
        elif people.get_team(ident) is None:
            errors.append(FieldError(where, f"no such team: {ident}"))
        elif not any(ident in u.teams for u in users.values()):
            errors.append(FieldError(where, f"team {ident} has no members"))
    if errors:
        raise ValidationFailed(errors)


def put_assignment_rule(
    rule_id: str, body: Any, people: PeopleStore, scoring: ScoringRepository
) -> tuple[bool, dict[str, Any]]:
    rule = parse_assignment_rule(rule_id, body, known_models(scoring))
    check_targets(rule, people)
    definition = {k: v for k, v in body.items() if k != "id"}
    created = people.put_assignment_rule(rule_id, definition, datetime.now(UTC))
    return created, {"rule_id": rule_id, **definition}


def get_assignment_rule(rule_id: str, people: PeopleStore) -> dict[str, Any]:
    found = people.get_assignment_rule(rule_id)
    if found is None:
        raise NotFound("assignment rule", rule_id)
    return {"rule_id": rule_id, **found}


def delete_assignment_rule(rule_id: str, people: PeopleStore) -> None:
    """Delete a rule; deleting one that is gone is a 404 (a retry of a delete that worked sees it)."""
    if not people.delete_assignment_rule(rule_id):
        raise NotFound("assignment rule", rule_id)


def list_assignment_rules(people: PeopleStore) -> list[dict[str, Any]]:
    """In the order they are tried (priority, then id)."""
    rules = [{"rule_id": ident, **spec} for ident, spec in people.assignment_rules()]
    return sorted(rules, key=lambda r: (r.get("priority", 0), r["rule_id"]))


def as_user(user_id: str, fields: dict[str, Any]) -> User:
    return User(user_id=user_id, **fields)


def as_team(team_id: str, fields: dict[str, Any]) -> Team:
    return Team(team_id=team_id, **fields)
