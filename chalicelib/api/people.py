"""People and routing: users, teams, assignment rules (admin), assigning a lead by hand (sales), and
the speed-to-lead report. The services and the routing domain are imported by the views that use them:
``app.py`` imports every blueprint, so what is imported here counts in every cold start."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.api.http import caller, endpoint, json_response, read_json
from chalicelib.domain.errors import NotPermitted

if TYPE_CHECKING:
    from chalicelib.api.schemas.people import AssignBody, SpeedQuery, TeamBody, UserBody
    from chalicelib.api.schemas.queries import NoQuery
    from chalicelib.domain.routing import User

bp = Blueprint(__name__)
_RULE_BODY = {
    "type": "object",
    "required": ["priority", "assign"],
    "properties": {
        "priority": {"type": "integer", "minimum": 0, "description": "lowest first"},
        "when": {"type": "object", "description": "a condition (scoring.md); absent: every lead"},
        "assign": {
            "type": "object",
            "description": '{"user": id} | {"team": id} | {"account_owner": true, "otherwise": {...}}',
        },
        "sla": {
            "type": "object",
            "properties": {
                "accept_within_minutes": {"type": "integer", "minimum": 1, "maximum": 43200},
                "on_lapse": {"enum": ["reassign", "escalate"]},
            },
        },
        "description": {"type": "string"},
    },
}


def acting_user() -> User | None:
    """The person the caller's key belongs to (``None``: a machine's key)."""
    key = caller.get()
    if key is None or key.user_id is None:
        return None
    found = wiring.deps().people.get_user(key.user_id)
    if found is None:
        raise NotPermitted(f"this key's user {key.user_id} no longer exists", "X-Api-Key")
    return found


# ---------------------------------------------------------------- users and teams


@endpoint(
    bp,
    "/v1/users/{user_id}",
    "PUT",
    scope="admin",
    summary="a user",
    body="people.UserBody",
    ok=("200", "201"),
)
def put_user(request: Request, user_id: str, body: UserBody) -> Response:
    from chalicelib.api import views
    from chalicelib.domain.routing import User
    from chalicelib.services import people

    user = User(user_id=user_id, **body.model_dump())
    created, stored = people.put_user(user, wiring.deps().people)
    return json_response(201 if created else 200, views.user_view(stored))


@endpoint(bp, "/v1/users/{user_id}", "GET", scope="admin", summary="a user")
def get_user(request: Request, user_id: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import people

    return json_response(200, views.user_view(people.get_user(user_id, wiring.deps().people)))


@endpoint(bp, "/v1/users", "GET", scope="admin", summary="users", query="queries.NoQuery")
def list_users(request: Request, query: NoQuery) -> Response:
    from chalicelib.api import views
    from chalicelib.services import people

    users = people.list_users(wiring.deps().people)
    return json_response(200, {"users": [views.user_view(u) for u in users]})


@endpoint(
    bp,
    "/v1/teams/{team_id}",
    "PUT",
    scope="admin",
    summary="a team",
    body="people.TeamBody",
    ok=("200", "201"),
)
def put_team(request: Request, team_id: str, body: TeamBody) -> Response:
    from chalicelib.api import views
    from chalicelib.domain.routing import Team
    from chalicelib.services import people

    created, stored = people.put_team(Team(team_id=team_id, **body.model_dump()), wiring.deps().people)
    return json_response(201 if created else 200, views.team_view(stored))


@endpoint(bp, "/v1/teams/{team_id}", "GET", scope="admin", summary="a team with its members")
def get_team(request: Request, team_id: str) -> Response:
    from chalicelib.api import views
    from chalicelib.services import people

    team, members = people.get_team(team_id, wiring.deps().people)
    return json_response(200, views.team_view(team, members))


@endpoint(bp, "/v1/teams", "GET", scope="admin", summary="teams", query="queries.NoQuery")
def list_teams(request: Request, query: NoQuery) -> Response:
    from chalicelib.api import views
    from chalicelib.services import people

    teams = people.list_teams(wiring.deps().people)
    return json_response(200, {"teams": [views.team_view(t, m) for t, m in teams]})


# ---------------------------------------------------------------- assignment rules


@endpoint(
    bp,
    "/v1/assignment-rules/{rule_id}",
    "PUT",
    scope="admin",
    summary="an assignment rule",
    body=_RULE_BODY,
    ok=("200", "201"),
)
def put_assignment_rule(request: Request, rule_id: str) -> Response:
    from chalicelib.services import people

    deps = wiring.deps()
    created, stored = people.put_assignment_rule(rule_id, read_json(request), deps.people, deps.scoring)
    return json_response(201 if created else 200, stored)


@endpoint(bp, "/v1/assignment-rules/{rule_id}", "GET", scope="admin", summary="an assignment rule")
def get_assignment_rule(request: Request, rule_id: str) -> Response:
    from chalicelib.services import people

    return json_response(200, people.get_assignment_rule(rule_id, wiring.deps().people))


@endpoint(
    bp,
    "/v1/assignment-rules/{rule_id}",
    "DELETE",
    scope="admin",
    summary="an assignment rule",
    ok=("204",),
    empty=True,
)
def delete_assignment_rule(request: Request, rule_id: str) -> Response:
    from chalicelib.services import people

    people.delete_assignment_rule(rule_id, wiring.deps().people)
    return Response(body="", status_code=204)


@endpoint(
    bp,
    "/v1/assignment-rules",
    "GET",
    scope="admin",
    summary="assignment rules, in the order tried",
    query="queries.NoQuery",
)
def list_assignment_rules(request: Request, query: NoQuery) -> Response:
    from chalicelib.services import people

    return json_response(200, {"rules": people.list_assignment_rules(wiring.deps().people)})


# ---------------------------------------------------------------- assigning and reporting


@endpoint(
    bp,
    "/v1/leads/{lead_id}/assign",
    "POST",
    scope="sales",
    summary="give the lead to a user (reassign), on the timeline",
    body="people.AssignBody",
)
def assign(request: Request, lead_id: str, body: AssignBody) -> Response:
    """Safe to retry: assigning a lead to the owner it has changes nothing."""
    from chalicelib.api import views
    from chalicelib.services import assignment

    key = caller.get()
    by = key.actor if key else "anonymous"
    lead = assignment.assign_lead(lead_id, body.owner, body.reason, by, acting_user(), wiring.deps())
    return json_response(200, views.lead_view(lead))


@endpoint(bp, "/v1/leads/{lead_id}/assignments", "GET", scope="sales", summary="a lead's assignments")
def lead_assignments(request: Request, lead_id: str) -> Response:
    from chalicelib.services import assignment

    return json_response(
        200, {"lead_id": lead_id, "assignments": assignment.lead_assignments(lead_id, wiring.deps())}
    )


@endpoint(
    bp,
    "/v1/reports/speed-to-lead",
    "GET",
    scope="sales",
    summary="qualified -> accepted and -> first activity, median and p90 minutes per team and rep",
    query="people.SpeedQuery",
)
def speed_to_lead(request: Request, query: SpeedQuery) -> Response:
    from chalicelib.services import assignment

    return json_response(200, assignment.speed_to_lead(query.since, query.until, wiring.deps()))
