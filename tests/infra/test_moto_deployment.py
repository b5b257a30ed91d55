"""The packaged, expanded template deploys as a stack on moto's CloudFormation (by ``leadflow deploy``'s
own code), and the deployed wiring works with the code from the deployment zip: a form submission and
interactions end as hand-off messages on the FIFO queue, and a CSV uploaded to the bucket is imported.

Nothing here reads ``infra/template.json`` or the app in this checkout to wire things: the functions'
settings come from moto's Lambda, the pump from the deployed event-source mappings."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from leadflow_local import deploy
from leadflow_local.packaging import Packaged
from tests.conftest import load_event
from tests.infra import moto_cloud
from tests.infra.lambda_zip import runtime_path

STAGE = "prod"
# moto's CloudFormation creates nothing for alarms, the API stage and a few more, and says so
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse")


@pytest.fixture(scope="module")
def cloud(packaged_app: Packaged, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with moto_cloud.moto_server() as endpoint, pytest.MonkeyPatch.context() as patch:
        patch.setattr(deploy, "prepare_template", moto_cloud.adapt_for_moto)
        lines: list[str] = []
        options = deploy.Options(stage=STAGE, region="us-east-1", poll_seconds=0.2, timeout_seconds=120)
        outputs = deploy.deploy(options, lines.append, packaged=packaged_app)
        detached = moto_cloud.detach_moto_lambda_invocations()
        deployed = moto_cloud.Deployed.read(deploy.stack_name(STAGE))
        where = tmp_path_factory.mktemp("lambda")
        xray = moto_cloud.XRayDaemon()
        functions = moto_cloud.Functions(
            deployed, runtime_path(packaged_app.zip, where), endpoint, where, xray.address
        )
        try:
            yield {
                "endpoint": endpoint,
                "outputs": outputs,
                "lines": lines,
                "deployed": deployed,
                "functions": functions,
                "pump": moto_cloud.pump(deployed, functions),
                "api": moto_cloud.Api(packaged_app.sam(), functions),
                "detached": detached,
                "logs": where,
                "xray": xray,
            }
        finally:
            functions.stop()
            xray.close()


@pytest.fixture(scope="module")
def admin_key(cloud: dict[str, Any]) -> str:
    """The first admin key, written as the docs say: ``leadflow keys create`` with the stack's table."""
    from chalicelib import wiring
    from chalicelib.services import access

    deployed = cloud["deployed"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("API_KEYS_TABLE", deployed.outputs["ApiKeysTableName"])
        wiring.reset()  # with the deps, their key cache
        secret, _ = access.create_key("deploy test", ["admin"], wiring.deps().store)
    wiring.reset()
    return secret


def test_the_stack_creates_every_function_table_queue_and_mapping(cloud: dict[str, Any]):
    deployed = cloud["deployed"]
    kinds = Counter(deployed.types.values())
    functions = deployed.functions
    assert {
        "APIHandler",
        "RecordInteractions",
        "ScoreChanges",
        "Qualify",
        "PublishHandoffs",
        "ImportRows",
    } <= set(functions)
    for function in functions.values():
        assert function.runtime == "python3.12"
        assert function.environment["LEADFLOW_STAGE"] == STAGE
        assert function.environment["IMPORTS_BUCKET"] == deployed.physical["ImportsBucket"]
        assert function.environment["HANDOFF_QUEUE_URL"] == deployed.physical["SalesHandoffQueue"]
    assert kinds["AWS::DynamoDB::Table"] == len(deployed.resources.tables) >= 20
    assert len(deployed.mappings) == kinds["AWS::Lambda::EventSourceMapping"] > 0
    assert cloud["detached"] == len(deployed.mappings)
    readers: Counter[str] = Counter(
        m["EventSourceArn"] for m in deployed.mappings if ":dynamodb:" in m["EventSourceArn"]
    )
    assert max(readers.values()) <= 2, "at most two readers per stream"
    for mapping in deployed.mappings:
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        if ":sqs:" in mapping["EventSourceArn"]:
            assert 2 <= mapping["ScalingConfig"]["MaximumConcurrency"] <= 10
    assert deployed.physical["SalesHandoffQueue"].endswith(".fifo")
    assert deployed.outputs["EndpointURL"].endswith("/api/")
    assert any(line.startswith("change set") for line in cloud["lines"])


def _lead_of(api: Any, admin: dict[str, str], email: str) -> dict[str, Any]:
    """The lead (with its contact) captured for ``email``, as an operator finds it."""
    status, page, _ = api.call("GET", "/v1/leads?limit=100", None, admin)
    assert status == 200, page
    for item in page["leads"]:
        status, lead, _ = api.call("GET", f"/v1/leads/{item['lead_id']}", None, admin)
        if status == 200 and lead["contact"]["email"] == email:
            return {"lead_id": lead["lead_id"], "contact_id": lead["contact"]["contact_id"]}
    raise AssertionError(f"no lead for {email} in {page}")


def _drain(cloud: dict[str, Any]) -> None:
    cloud["pump"].drain(timeout=180)


def test_a_form_and_interactions_reach_the_hand_off_queue_through_the_deployed_wiring(
    cloud: dict[str, Any], admin_key: str
):
    api, admin = cloud["api"], {"X-Api-Key": admin_key}
    assert api.call("GET", "/v1/health")[0] == 200
    assert (
        api.call("PUT", "/v1/scoring-models/b2b-default", load_event("models/b2b_default.json"), admin)[0]
        == 201
    )
    assert api.call("POST", "/v1/scoring-models/b2b-default/publish", {}, admin)[0] == 202
    rule = load_event("rules/mql_default.json")
    assert api.call("PUT", "/v1/qualification-rules/mql-default", rule, admin)[0] == 201
    assert api.call("PUT", "/v1/forms/contact-us", load_event("http/form_contact_us.json"), admin)[0] in (
        200,
        201,
    )
    ada = {**load_event("http/form_submissions.json")[0], "email": "ada.deployed@analytical-engines.co.uk"}
    status, created, _ = api.call(
        "POST", "/v1/forms/contact-us/submissions", ada, {"Origin": "https://www.example.com"}
    )
    assert status == 201, created
    assert set(created) == {"submission_id", "status"}  # a visitor learns nothing about the person
    created = _lead_of(api, admin, ada["email"])
    # The form's own scoring runs before the clicks are posted: otherwise, under load, the stream
    # event of the new lead can be scored after the clicks are stored, and the lead crosses the line
    # under the form's correlation id rather than the clicks' (a race of the test, not of the product).
    _drain(cloud)
    now = time.time()
    at = [time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600 * (n + 1))) for n in range(7)]
    items = [
        {
            "id": f"d-click-{n}",
            "type": "email_clicked",
            "occurred_at": at[n],
            "contact_id": created["contact_id"],
        }
        for n in range(5)
    ]
    items += [
        {
            "id": f"d-price-{n}",
            "type": "page_visited",
            "occurred_at": at[5 + n],
            "contact_id": created["contact_id"],
            "properties": {"url": "/pricing"},
        }
        for n in range(2)
    ]
    traced = {**admin, "X-Correlation-Id": "deployed-clicks-1"}
    assert api.call("POST", "/v1/interactions", {"interactions": items}, traced)[0] == 202
    _drain(cloud)

    import boto3

    sqs = boto3.client("sqs")
    queue = cloud["deployed"].resources.queue_urls["SalesHandoffQueue"]
    events = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    mine = [e for e in events if e["subject"] == created["lead_id"]]
    assert sorted(e["type"] for e in mine) == [
        "leadflow.handoff.opportunity",
        "leadflow.handoff.phone_call",
    ], (
        events,
        _logs(cloud),
    )
    assert {e["correlationid"] for e in mine} == {"deployed-clicks-1"}, "the request that qualified the lead"
    status, lead, _ = api.call("GET", f"/v1/leads/{created['lead_id']}", None, admin)
    assert lead["status"] == "marketing_qualified" and lead["scores"][0]["sales_ready"] is True
    # every function on the path ran from the zip
    ran = {name for name, worker in cloud["functions"].workers.items() if worker.invocations}
    assert {
        "APIHandler",
        "RecordInteractions",
        "ScoreChanges",
        "Qualify",
        "PublishHandoffs",
        "Rescore",
    } <= ran


def test_a_csv_uploaded_to_the_deployed_bucket_completes_an_import(cloud: dict[str, Any], admin_key: str):
    api, admin = cloud["api"], {"X-Api-Key": admin_key}
    status, answer, _ = api.call(
        "POST", "/v1/imports", {"name": "fair.csv", "mapping": {"topic": "Spring fair"}}, admin
    )
    assert status == 201, answer
    upload = answer["upload"]
    data = (Path(__file__).parents[2] / "events" / "imports" / "hubspot_export_latin1.csv").read_bytes()
    put = requests.request(upload["method"], upload["url"], headers=upload["headers"], data=data, timeout=30)
    assert put.status_code == 200, put.text
    _drain(cloud)
    status, progress, _ = api.call("GET", f"/v1/imports/{answer['import_id']}", None, admin)
    assert status == 200
    assert progress["status"] == "completed", (progress, _logs(cloud))
    assert progress["counts"] == {"created": 4, "updated": 0, "duplicates": 1, "rejected": 2}
    assert {"ImportUploaded", "ImportRows"} <= {
        n for n, w in cloud["functions"].workers.items() if w.invocations
    }


def _logs(cloud: dict[str, Any]) -> str:
    """The tail of each worker's log (what the functions printed), for a failing assertion."""
    tails = []
    for log in sorted(Path(cloud["logs"]).glob("*.log")):
        text = log.read_text()
        if "Traceback" in text or "ERROR" in text:
            tails.append(f"--- {log.name}\n{text[-3000:]}")
    return "\n".join(tails)
