"""Sign-in on the local stack: demo people in moto's user pool (the template's, with its groups) and in
People, so the console's sign-in works at once. Local only: the passwords are fixed and printed in the
banner; ``leadflow deploy`` never creates anyone (``leadflow users invite`` does, on AWS)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DemoPerson:
    user_id: str
    name: str
    email: str
    role: str
    password: str
    teams: tuple[str, ...]
    capacity: int


#: One team (EMEA, round robin, managed by Mia) with two reps; an admin outside it.
DEMO_TEAM = ("demo-emea", "EMEA (demo)", "mia")
DEMO_PEOPLE = (
    DemoPerson("ada", "Ada Admin", "ada@leadflow.local", "admin", "Local-Admin-Pass-1", (), 0),
    DemoPerson(
        "mia", "Mia Manager", "mia@leadflow.local", "sales_manager", "Local-Manager-Pass-2", ("demo-emea",), 0
    ),
    DemoPerson(
        "ann", "Ann Rep", "ann@leadflow.local", "sales_rep", "Local-Rep-Ann-Pass-3", ("demo-emea",), 20
    ),
    DemoPerson(
        "bob", "Bob Rep", "bob@leadflow.local", "sales_rep", "Local-Rep-Bob-Pass-4", ("demo-emea",), 20
    ),
)


def seed(cognito: Any, pool_id: str, people: Any) -> tuple[DemoPerson, ...]:
    """The demo team, People users and Cognito users (permanent passwords, in their role's group).
    What exists is kept (a restart over saved data finds them)."""
    from chalicelib.domain.routing import Team, User
    from chalicelib.services import people as service

    team_id, team_name, manager = DEMO_TEAM
    if people.get_team(team_id) is None:
        service.put_team(Team(team_id, team_name, "round_robin"), people)
    for who in DEMO_PEOPLE:
        if people.get_user(who.user_id) is None:
            user = User(who.user_id, who.name, who.email, (who.role,), who.teams, who.capacity, True)
            service.put_user(user, people)
        with contextlib.suppress(cognito.exceptions.UsernameExistsException):
            cognito.admin_create_user(
                UserPoolId=pool_id,
                Username=who.email,
                UserAttributes=[
                    {"Name": "email", "Value": who.email},
                    {"Name": "email_verified", "Value": "true"},
                    {"Name": "name", "Value": who.name},
                ],
                MessageAction="SUPPRESS",
            )
        cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=who.email, Password=who.password, Permanent=True
        )
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=who.email, GroupName=who.role)
    team = people.get_team(team_id)
    if team is not None and team.manager is None:
        service.put_team(Team(team_id, team_name, team.distribution, manager), people)
    return DEMO_PEOPLE
