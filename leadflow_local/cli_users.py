"""``leadflow users invite`` and ``leadflow token``: people who sign in to the console (Cognito), for a
deployed stage (its ``COGNITO_*`` settings: the stack's outputs ``UserPoolId`` and ``ConsoleClientId``)
or the local stack (its profile)."""

from __future__ import annotations

import os
import re

import click

from leadflow_local import cli_ops

ROLES = ("admin", "marketing", "sales_manager", "sales_rep")


def _setting(name: str, given: str | None, option: str) -> str:
    value = given or os.environ.get(name, "")
    if not value:
        raise click.UsageError(f"give {option} or set {name} (the stack's outputs name it)")
    return value


def _cognito() -> object:
    import boto3

    return boto3.client("cognito-idp", endpoint_url=os.environ.get("COGNITO_ENDPOINT") or None)


def register(main: click.Group) -> None:
    @main.group()
    def users() -> None:
        """People who sign in to the console (the stage's Cognito user pool and People users)."""

    @users.command("invite")
    @click.option("--email", required=True, help="Their e-mail: their user name and how they are linked.")
    @click.option(
        "--role", required=True, type=click.Choice(ROLES), help="Their group (it gives the scopes)."
    )
    @click.option("--name", default=None, help="Their name (default: the e-mail's local part).")
    @click.option("--user-id", default=None, help="Their People user id (default: from the e-mail).")
    @click.option("--team", "teams", multiple=True, help="A team they belong to (repeat).")
    @click.option("--pool-id", default=None, help="The user pool (default: COGNITO_USER_POOL_ID).")
    @cli_ops.aws_command
    def invite(
        email: str,
        role: str,
        name: str | None,
        user_id: str | None,
        teams: tuple[str, ...],
        pool_id: str | None,
    ) -> None:
        """Create the People user and the Cognito user (AdminCreateUser: Cognito e-mails a temporary
        password, changed at the first sign-in) in the role's group."""
        from chalicelib import wiring
        from chalicelib.domain.routing import User
        from chalicelib.services import people

        pool = _setting("COGNITO_USER_POOL_ID", pool_id, "--pool-id")
        local = email.split("@", 1)[0]
        user_id = user_id or re.sub(r"[^A-Za-z0-9_-]", "-", local)[:64]
        store = wiring.deps().people
        existing = store.get_user(user_id)
        if existing is None:
            people.put_user(User(user_id, name or local, email.lower(), (role,), teams, 0, True), store)
        elif existing.email.lower() != email.lower():
            raise click.BadParameter(
                f"user {user_id} has the e-mail {existing.email}", param_hint="--user-id"
            )
        cognito = _cognito()
        cognito.admin_create_user(  # type: ignore[attr-defined]
            UserPoolId=pool,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "name", "Value": name or local},
            ],
            DesiredDeliveryMediums=["EMAIL"],
        )
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=role)  # type: ignore[attr-defined]
        click.echo(f"invited {email} as {role} (People user {user_id}); Cognito e-mails a temporary password")

    @main.command("token")
    @click.option("--email", required=True)
    @click.option("--password", prompt=True, hide_input=True, help="Asked for when not given.")
    @click.option("--client-id", default=None, help="The console's app client (default: COGNITO_CLIENT_ID).")
    @click.option(
        "--access", is_flag=True, help="Print the access token (the API links people by the ID token)."
    )
    @cli_ops.aws_command
    def token(email: str, password: str, client_id: str | None, access: bool) -> None:
        """Sign in (USER_PASSWORD_AUTH) and print an ID token for ``Authorization: Bearer``."""
        client = _setting("COGNITO_CLIENT_ID", client_id, "--client-id")
        answer = _cognito().initiate_auth(  # type: ignore[attr-defined]
            ClientId=client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )
        result = answer.get("AuthenticationResult")
        if result is None:
            raise click.ClickException(
                f"Cognito asks for {answer.get('ChallengeName')}: sign in on the console first"
            )
        click.echo(result["AccessToken" if access else "IdToken"])
