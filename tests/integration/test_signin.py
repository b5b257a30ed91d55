"""Cognito sign-in on moto (in-process): the template's user pool, client and groups; a person signs in
with USER_PASSWORD_AUTH and calls the API with ``Authorization: Bearer <id token>`` beside API keys. The
token's groups give the scopes, its e-mail the People user (``owner=me``, the timeline's ``by``); a
forged, tampered or foreign token is a 401, a genuine one without a People user or a group a 403."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.integration.helpers import put_json

PASSWORD = "Correct-Horse-9-Battery"


@pytest.fixture
def jwks_over_moto(monkeypatch: pytest.MonkeyPatch) -> None:
    """The JWKS read with ``requests`` (which in-process moto answers) instead of urllib (which it
    cannot see); the server-mode stack reads moto's real URL (tests/e2e)."""
    import requests

    from chalicelib import wiring
    from chalicelib.integrations import jwks

    monkeypatch.setattr(jwks, "_fetch_json", lambda url: requests.get(url, timeout=5).json())
    wiring.reset()


@pytest.fixture
def pool(aws: Any, jwks_over_moto: None) -> dict[str, str]:
    return {"pool": aws.cognito["UserPool"], "client": aws.cognito["ConsoleClient"]}


def person(pool: dict[str, str], email: str, groups: list[str]) -> None:
    import boto3

    cognito = boto3.client("cognito-idp")
    cognito.admin_create_user(
        UserPoolId=pool["pool"],
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(
        UserPoolId=pool["pool"], Username=email, Password=PASSWORD, Permanent=True
    )
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool["pool"], Username=email, GroupName=group)


def tokens(pool: dict[str, str], email: str) -> dict[str, str]:
    import boto3

    answer = boto3.client("cognito-idp").initiate_auth(
        ClientId=pool["client"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )
    return answer["AuthenticationResult"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(client: Any, path: str, headers: dict[str, str]) -> Any:
    return client.http.get(path, headers=headers)


def add_user(client: Any, admin_key: str, user_id: str, email: str, roles: list[str]) -> None:
    body = {"name": user_id.title(), "email": email, "roles": roles, "teams": [], "capacity": 5}
    assert put_json(client, f"/v1/users/{user_id}", body, admin_key).status_code == 201


def test_the_template_creates_the_pool_client_and_role_groups(pool: dict[str, str]) -> None:
    import boto3

    cognito = boto3.client("cognito-idp")
    groups = {g["GroupName"] for g in cognito.list_groups(UserPoolId=pool["pool"])["Groups"]}
    assert groups == {"admin", "marketing", "sales_manager", "sales_rep"}
    client = cognito.describe_user_pool_client(UserPoolId=pool["pool"], ClientId=pool["client"])[
        "UserPoolClient"
    ]
    assert "ClientSecret" not in client
    assert set(client["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }


def test_a_signed_in_rep_lists_their_own_leads_with_owner_me(
    client: Any, admin_key: str, pool: dict[str, str]
) -> None:
    add_user(client, admin_key, "ann", "ann@example.com", ["sales_rep"])
    person(pool, "ann@example.com", ["sales_rep"])
    token = tokens(pool, "ann@example.com")["IdToken"]
    mine = call(client, "/v1/leads?owner=me", bearer(token))
    assert mine.status_code == 200, mine.body
    assert mine.json_body["leads"] == []
    # a rep's role is sales: admin routes are refused, naming the header
    refused = call(client, "/v1/users", bearer(token))
    assert refused.status_code == 403
    assert refused.json_body["error"]["field"] == "Authorization"


def test_an_admin_token_has_the_admin_scope_and_keys_keep_working(
    client: Any, admin_key: str, pool: dict[str, str]
) -> None:
    add_user(client, admin_key, "ada", "ada@example.com", ["admin"])
    person(pool, "ada@example.com", ["admin"])
    token = tokens(pool, "ada@example.com")["IdToken"]
    assert call(client, "/v1/users", bearer(token)).status_code == 200
    assert call(client, "/v1/users", {"X-Api-Key": admin_key}).status_code == 200


def test_a_signed_in_person_without_a_people_user_gets_403_naming_why(
    client: Any, pool: dict[str, str]
) -> None:
    person(pool, "stranger@example.com", ["sales_rep"])
    answer = call(client, "/v1/leads", bearer(tokens(pool, "stranger@example.com")["IdToken"]))
    assert answer.status_code == 403
    assert "no People user has the e-mail 'stranger@example.com'" in answer.json_body["error"]["message"]


def test_a_person_in_no_role_group_gets_403(client: Any, admin_key: str, pool: dict[str, str]) -> None:
    add_user(client, admin_key, "nog", "nog@example.com", ["sales_rep"])
    person(pool, "nog@example.com", [])
    answer = call(client, "/v1/leads", bearer(tokens(pool, "nog@example.com")["IdToken"]))
    assert answer.status_code == 403
    assert "no role group" in answer.json_body["error"]["message"]


def test_an_access_token_verifies_but_carries_no_email_to_link_the_person(
    client: Any, admin_key: str, pool: dict[str, str]
) -> None:
    add_user(client, admin_key, "ann", "ann@example.com", ["sales_rep"])
    person(pool, "ann@example.com", ["sales_rep"])
    answer = call(client, "/v1/leads", bearer(tokens(pool, "ann@example.com")["AccessToken"]))
    assert answer.status_code == 403
    assert "send the ID token" in answer.json_body["error"]["message"]


def test_forged_tampered_and_malformed_tokens_get_401(
    client: Any, admin_key: str, pool: dict[str, str]
) -> None:
    add_user(client, admin_key, "ann", "ann@example.com", ["sales_rep"])
    person(pool, "ann@example.com", ["sales_rep"])
    token = tokens(pool, "ann@example.com")["IdToken"]
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:groups"] = ["admin"]
    raised = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    none_head = base64.urlsafe_b64encode(b'{"alg":"none","kid":"dummy"}').rstrip(b"=").decode()
    for forged in (f"{head}.{raised}.{signature}", f"{none_head}.{payload}.", "not-a-token", token + "x"):
        answer = call(client, "/v1/leads", bearer(forged))
        assert answer.status_code == 401, forged
        assert answer.json_body["error"]["field"] == "Authorization"
    assert call(client, "/v1/leads", {"Authorization": "Basic abc"}).status_code == 401
    assert call(client, "/v1/leads", bearer(token)).status_code == 200


def test_a_token_of_another_pool_gets_401(client: Any, admin_key: str, pool: dict[str, str]) -> None:
    import boto3

    cognito = boto3.client("cognito-idp")
    other = cognito.create_user_pool(PoolName="other", UsernameAttributes=["email"])["UserPool"]["Id"]
    other_client = cognito.create_user_pool_client(
        UserPoolId=other, ClientName="c", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    for group in ("admin",):
        cognito.create_group(UserPoolId=other, GroupName=group)
    add_user(client, admin_key, "eve", "eve@example.com", ["admin"])
    person({"pool": other, "client": other_client}, "eve@example.com", ["admin"])
    token = tokens({"pool": other, "client": other_client}, "eve@example.com")["IdToken"]
    answer = call(client, "/v1/users", bearer(token))
    assert answer.status_code == 401
    assert "another issuer" in answer.json_body["error"]["message"]


def test_the_console_config_names_the_pool_client_and_endpoint(client: Any, pool: dict[str, str]) -> None:
    answer = client.http.get("/v1/console/config")
    assert answer.status_code == 200
    assert answer.json_body == {
        "sign_in": True,
        "region": "us-east-1",
        "user_pool_id": pool["pool"],
        "client_id": pool["client"],
        "endpoint": "https://cognito-idp.us-east-1.amazonaws.com/",
    }
    page = client.http.get("/console")
    assert (
        "connect-src 'self' https://cognito-idp.us-east-1.amazonaws.com;"
        in page.headers["Content-Security-Policy"]
    )


def test_leadflow_users_invite_and_token_give_a_person_who_can_call_the_api(
    client: Any, aws: Any, jwks_over_moto: None
) -> None:
    import boto3
    from click.testing import CliRunner

    from leadflow_local.cli import main

    runner = CliRunner()
    invited = runner.invoke(
        main, ["users", "invite", "--email", "Cleo@Example.com", "--role", "sales_manager"]
    )
    assert invited.exit_code == 0, invited.output
    assert "invited Cleo@Example.com as sales_manager (People user Cleo)" in invited.output
    cognito = boto3.client("cognito-idp")
    pool = aws.cognito["UserPool"]
    assert [
        g["GroupName"]
        for g in cognito.admin_list_groups_for_user(UserPoolId=pool, Username="Cleo@Example.com")["Groups"]
    ] == ["sales_manager"]
    # the invitation's temporary password: the token command says a first sign-in is needed
    cognito.admin_set_user_password(
        UserPoolId=pool, Username="Cleo@Example.com", Password=PASSWORD, Permanent=True
    )
    token = runner.invoke(main, ["token", "--email", "Cleo@Example.com", "--password", PASSWORD])
    assert token.exit_code == 0, token.output
    mine = call(client, "/v1/leads?owner=me", bearer(token.output.strip()))
    assert mine.status_code == 200, mine.body
    # the same person again: the People user is kept, Cognito refuses a second user
    again = runner.invoke(
        main,
        ["users", "invite", "--email", "Cleo@Example.com", "--role", "sales_manager"],
    )
    assert again.exit_code != 0
