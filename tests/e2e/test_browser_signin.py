"""Issue 17 (items 1, 7) in headless Chromium against the local stack: people sign in with moto's
Cognito (the demo users ``leadflow local`` creates), a rep sees only their leads in "My leads" with the
SLA countdown, accepts one (the countdown goes), and an admin signs in and reassigns a lead. The sign-in
goes from the page to moto's Cognito endpoint (CORS), the API is called with the ID token. Screenshots
in ``out/test-artifacts/browser/`` (``signin-*.png``)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from leadflow_local.people import DEMO_PEOPLE
from tests.e2e.test_browser import browser_context, chromium, shot  # noqa: F401 - fixtures
from tests.e2e.test_local_stack import API_KEY, call, stack  # noqa: F401 - the stack fixture

pytestmark = pytest.mark.e2e
ADMIN = {"X-Api-Key": API_KEY}
PASSWORDS = {p.user_id: (p.email, p.password) for p in DEMO_PEOPLE}


def routed_to_reps(stack: str) -> tuple[list[str], str]:  # noqa: F811
    """A model and a qualification rule every lead with an account meets, then assignment rules: a
    lead on "Bob's topic" to Bob, every other to Ann, each to accept within 60 minutes. Three leads:
    two become Ann's, one Bob's (assigned when they become marketing-qualified)."""
    # a model every lead with an account meets (the example model's audience is form and import leads)
    model = {
        "id": "signin-fit",
        "name": "Sign-in test fit",
        "rules": [
            {
                "id": "any-account",
                "points": 50,
                "when": {"field": "account.employees", "op": "gte", "value": 1},
            }
        ],
        "grades": [{"grade": "A", "min_score": 40}, {"grade": "D"}],
        "sales_ready_score": 40,
    }
    assert call("PUT", f"{stack}/v1/scoring-models/signin-fit", model, ADMIN)[0] == 201
    assert call("POST", f"{stack}/v1/scoring-models/signin-fit/publish", {}, ADMIN)[0] == 202
    rule = {
        "when": {"grade": "signin-fit", "op": "in", "value": ["A"]},
        "actions": [{"type": "phone_call", "subject": "Call about {lead.topic}", "owner": "inside-sales"}],
    }
    status, answer = call("PUT", f"{stack}/v1/qualification-rules/signin-any", rule, ADMIN)
    assert status in (200, 201), answer
    sla = {"accept_within_minutes": 60, "on_lapse": "escalate"}
    bob = {
        "priority": 1,
        "when": {"field": "lead.topic", "op": "eq", "value": "Bob's topic"},
        "assign": {"user": "bob"},
        "sla": sla,
    }
    assert call("PUT", f"{stack}/v1/assignment-rules/signin-bob", bob, ADMIN)[0] in (200, 201)
    ann = {"priority": 2, "assign": {"user": "ann"}, "sla": sla}
    assert call("PUT", f"{stack}/v1/assignment-rules/signin-ann", ann, ADMIN)[0] in (200, 201)
    made = []
    for n, topic in enumerate(("Pilot for Ann", "Renewal for Ann", "Bob's topic")):
        body = {
            "contact": {"email": f"signin{n}@example.org", "first_name": f"Person{n}", "country": "US"},
            "account": {"name": f"Company {n}", "employees": 500},
            "lead": {"topic": topic, "budget": 50000},
        }
        status, answer = call("POST", f"{stack}/v1/leads", body, ADMIN)
        assert status == 201, answer
        made.append(answer["lead_id"])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        owners = [call("GET", f"{stack}/v1/leads/{lead_id}", None, ADMIN)[1].get("owner") for lead_id in made]
        if all(owners):
            assert owners == ["ann", "ann", "bob"], owners
            return made[:2], made[2]
        time.sleep(0.5)
    pytest.fail(f"the leads were not assigned within 90 s: {owners}")


def sign_in(browser_context: Any, stack: str, user_id: str) -> Any:  # noqa: F811
    email, password = PASSWORDS[user_id]
    page = browser_context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(f"{stack}/console")
    page.fill("#sign-in-form input[name=email]", email)
    page.fill("#sign-in-form input[name=password]", password)
    page.click("#sign-in-form button[type=submit]")
    return page


def test_a_rep_signs_in_sees_only_their_leads_accepts_one_and_an_admin_reassigns(
    stack: str,  # noqa: F811
    browser_context: Any,  # noqa: F811
):
    anns, bobs = routed_to_reps(stack)

    # a wrong password is said on the page, nothing is kept
    page = sign_in(browser_context, stack, "ann")
    page.locator("#my-leads").wait_for(timeout=20_000)
    assert page.evaluate("sessionStorage.getItem('leadflow.apiKey')") is None
    assert (
        page.evaluate("JSON.parse(sessionStorage.getItem('leadflow.session')).idToken.split('.').length") == 3
    )
    assert page.evaluate("localStorage.length") == 0
    for lead_id in anns:
        page.locator(f"#my-leads tr[data-lead-id='{lead_id}']").wait_for(timeout=15_000)
    assert page.locator(f"#my-leads tr[data-lead-id='{bobs}']").count() == 0
    first = page.locator(f"#my-leads tr[data-lead-id='{anns[0]}']")
    assert "min left" in first.locator("td.sla").inner_text()
    assert first.locator("td").nth(1).inner_text() == "Company 0"
    # a rep's nav: My leads, Leads, Pipeline, Opportunities; no People, Models or Dead letters
    visible = [a.inner_text() for a in page.locator("nav a").all() if a.is_visible()]
    assert visible == ["My leads", "Leads", "Pipeline", "Opportunities"], visible
    assert "ann@leadflow.local" in page.locator("#sign-out").inner_text()
    shot(page, "signin-rep-my-leads.png")

    first.locator("td a").first.click()
    page.locator("#act-accept").wait_for(timeout=15_000)
    page.click("#act-accept")
    page.locator("dl.facts dd", has_text="open · sales_accepted").wait_for(timeout=15_000)
    timeline = page.locator("ol.timeline").inner_text()
    assert "user:ann" in timeline, timeline  # the timeline's `by` is the signed-in person
    page.goto(f"{stack}/console#/mine")
    accepted = page.locator(f"#my-leads tr[data-lead-id='{anns[0]}']")
    accepted.wait_for(timeout=15_000)
    assert accepted.locator("td.sla").inner_text() == ""
    assert "min left" in page.locator(f"#my-leads tr[data-lead-id='{anns[1]}'] td.sla").inner_text()
    shot(page, "signin-rep-accepted.png")

    # qualified: an opportunity of Ann's in the pipeline
    page.goto(f"{stack}/console#/leads/{anns[0]}")
    page.locator("#act-qualify").wait_for(timeout=15_000)
    page.click("#act-qualify")
    page.locator("dl.facts dd", has_text="qualified").first.wait_for(timeout=15_000)

    page.goto(f"{stack}/console#/pipeline")
    page.locator("#pipeline-stages").wait_for(timeout=15_000)
    assert page.locator("#pipeline-stages tr[data-stage=qualify] td").nth(1).inner_text() == "1"
    assert page.locator("#pipeline-owners tbody tr").count() == 1  # one owner row: the opportunity's
    shot(page, "signin-rep-pipeline.png")
    page.click("#sign-out")
    page.locator("#sign-in-form").wait_for(timeout=15_000)
    assert page.evaluate("sessionStorage.getItem('leadflow.session')") is None
    assert page.errors == []

    admin = sign_in(browser_context, stack, "ada")
    admin.locator("#leads").wait_for(timeout=20_000)
    visible = [a.inner_text() for a in admin.locator("nav a").all() if a.is_visible()]
    assert "People" in visible and "Dead letters" in visible, visible
    admin.goto(f"{stack}/console#/leads/{anns[1]}")
    admin.locator("#assign-form").wait_for(timeout=15_000)
    admin.fill("#assign-form input[name=owner]", "bob")
    admin.fill("#assign-form input[name=reason]", "Ann is on leave")
    admin.click("#assign-form button[type=submit]")
    admin.locator("#lead-owner", has_text="bob").wait_for(timeout=15_000)
    assert "Ann is on leave" in admin.locator("ol.timeline").inner_text()
    assert "user:ada" in admin.locator("ol.timeline").inner_text()
    shot(admin, "signin-admin-reassigned.png")
    assert admin.errors == []


def test_a_wrong_password_is_said_on_the_page_and_the_key_form_still_works(
    stack: str,  # noqa: F811
    browser_context: Any,  # noqa: F811
):
    page = browser_context.new_page()
    page.goto(f"{stack}/console")
    page.fill("#sign-in-form input[name=email]", "ann@leadflow.local")
    page.fill("#sign-in-form input[name=password]", "not-her-password")
    page.click("#sign-in-form button[type=submit]")
    page.locator("#sign-in-result .error").wait_for(timeout=15_000)
    assert "Wrong e-mail or password" in page.locator("#sign-in-result").inner_text()
    assert page.evaluate("sessionStorage.getItem('leadflow.session')") is None
    shot(page, "signin-wrong-password.png")
    page.fill("#key-form input[name=key]", API_KEY)
    page.click("#key-form button[type=submit]")
    page.locator("#leads").wait_for(timeout=15_000)


def test_an_invited_person_chooses_a_new_password_at_the_first_sign_in_and_lands_on_my_leads(
    stack: str,  # noqa: F811
    browser_context: Any,  # noqa: F811
):
    """``leadflow users invite`` makes the People user and the Cognito user (AdminCreateUser): the first
    sign-in with the temporary password gets the NEW_PASSWORD_REQUIRED challenge; the page asks for a
    new password and answers it (RespondToAuthChallenge), showing Cognito's refusal of a weak one."""
    import boto3

    from tests.e2e.test_local_stack import stack_aws_endpoint

    email, temporary = "nell@example.com", "Temporary-Pass-1"
    user = {"name": "Nell Newbie", "email": email, "roles": ["sales_rep"], "teams": [], "capacity": 5}
    status, answer = call("PUT", f"{stack}/v1/users/nell", user, ADMIN)
    assert status in (200, 201), answer
    cognito = boto3.client(
        "cognito-idp",
        endpoint_url=stack_aws_endpoint(stack),
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    (pool,) = cognito.list_user_pools(MaxResults=10)["UserPools"]
    cognito.admin_create_user(
        UserPoolId=pool["Id"],
        Username=email,
        TemporaryPassword=temporary,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
            {"Name": "name", "Value": "Nell Newbie"},
        ],
        MessageAction="SUPPRESS",
    )
    cognito.admin_add_user_to_group(UserPoolId=pool["Id"], Username=email, GroupName="sales_rep")

    page = browser_context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(f"{stack}/console")
    page.fill("#sign-in-form input[name=email]", email)
    page.fill("#sign-in-form input[name=password]", temporary)
    page.click("#sign-in-form button[type=submit]")
    form = page.locator("#new-password-form")
    form.wait_for(timeout=15_000)
    assert page.evaluate("sessionStorage.getItem('leadflow.session')") is None, "not signed in yet"

    # too weak for the pool's policy (12 characters, upper, lower, digit, symbol): Cognito's words
    page.fill("#new-password-form input[name=new-password]", "short")
    page.fill("#new-password-form input[name=confirm-password]", "short")
    page.click("#new-password-form button[type=submit]")
    page.locator("#new-password-result .error").wait_for(timeout=15_000)
    refused = page.locator("#new-password-result").inner_text()
    assert "password policy" in refused, refused
    assert page.evaluate("sessionStorage.getItem('leadflow.session')") is None
    shot(page, "signin-new-password-refused.png")

    chosen = "Nell-Chose-This-1"
    page.fill("#new-password-form input[name=new-password]", chosen)
    page.fill("#new-password-form input[name=confirm-password]", chosen)
    page.click("#new-password-form button[type=submit]")
    page.locator("#my-leads").wait_for(timeout=20_000)
    assert email in page.locator("#sign-out").inner_text()
    assert "No leads are yours yet" in page.locator("#my-leads").inner_text()
    shot(page, "signin-new-password-my-leads.png")
    assert page.errors == []

    # the new password is theirs from now on: a plain sign-in, no challenge
    signed = cognito.initiate_auth(
        ClientId=call("GET", f"{stack}/v1/console/config", None, {})[1]["client_id"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": chosen},
    )
    assert "AuthenticationResult" in signed and "ChallengeName" not in signed
