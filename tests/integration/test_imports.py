"""CSV imports through the real routes and functions on moto: the file is checked, stored, split into
chunks on the work queue and captured row by row; counts, progress and per-row errors are reported;
redelivered events and messages change nothing."""

from __future__ import annotations

import csv
import json
from typing import Any
from urllib.parse import quote

import pytest

from bench.samples import X_EDUCATION, X_EDUCATION_MAPPING, x_education_csv
from tests.conftest import EVENTS
from tests.integration.helpers import get

HUBSPOT = (EVENTS / "imports" / "hubspot_export_latin1.csv").read_bytes()
XEDU = X_EDUCATION


@pytest.fixture
def ingest_key(deps: Any) -> str:
    from chalicelib.services.access import create_key

    secret, _ = create_key("importer", ["ingest"], deps.store)
    return secret


def post_csv(client: Any, key: str, data: bytes, query: str = "", content_type: str = "text/csv") -> Any:
    return client.http.post(
        f"/v1/imports{query}", headers={"Content-Type": content_type, "X-Api-Key": key}, body=data
    )


def imported(client: Any, key: str, data: bytes, query: str, pump: Any) -> dict[str, Any]:
    response = post_csv(client, key, data, query)
    assert response.status_code == 202, response.json_body
    pump.drain()
    answer = get(client, f"/v1/imports/{response.json_body['import_id']}", key).json_body
    return dict(answer)


def contacts_by_email() -> dict[str, Any]:
    from chalicelib.store.records import ContactRecord

    return {c.email: c for c in ContactRecord.scan()}


def test_a_posted_file_is_answered_and_shown_with_a_documented_status(client: Any, ingest_key: str):
    # README, CSV imports: awaiting_upload, planning, processing, completed, failed (no "queued")
    response = post_csv(client, ingest_key, HUBSPOT, "?topic=Spring%20fair")
    assert response.status_code == 202, response.json_body
    assert response.json_body["status"] == "planning"
    shown = get(client, f"/v1/imports/{response.json_body['import_id']}", ingest_key).json_body
    assert shown["status"] == "planning"  # the file is in the bucket: not awaiting an upload


def test_export_in_latin1_with_semicolons_is_imported_with_counts_and_row_errors(
    client: Any, ingest_key: str, pump: Any, admin_key: str
):
    answer = imported(client, ingest_key, HUBSPOT, "?topic=Spring%20fair&name=hubspot", pump)

    assert answer["status"] == "completed" and answer["progress"] == 1.0
    assert answer["rows_total"] == 7 and answer["rows_done"] == 7
    assert answer["counts"] == {"created": 4, "updated": 0, "duplicates": 1, "rejected": 2}
    assert answer["file"]["encoding"] == "cp1252" and answer["file"]["delimiter"] == ";"
    assert [(e["row"], e["errors"][0]["field"]) for e in answer["errors"]] == [(4, "Email"), (5, "row")]
    assert "quotes" in answer["errors"][1]["errors"][0]["message"]
    people = contacts_by_email()
    assert set(people) == {
        "zoe.brandt@lindqvist-maritime.se",
        "asa.holm@lindqvist-maritime.se",
        "noah.riis@fjordline-cargo.no",
        "mia.kowalski@wisla-foods.pl",
    }
    zoe = people["zoe.brandt@lindqvist-maritime.se"]
    assert zoe.fields["first_name"] == "Zoë" and zoe.fields["job_title"] == "Head of\nProcurement"
    assert zoe.consent == "none", "imported people were never asked"
    assert people["noah.riis@fjordline-cargo.no"].fields["last_name"] == 'Quote "The Hammer" Riis'
    assert people["asa.holm@lindqvist-maritime.se"].fields["first_name"] == "Åsa"
    lead = get(client, f"/v1/leads/{zoe.lead_ids[0]}", admin_key).json_body
    assert lead["source"] == "import" and lead["topic"] == "Spring fair"
    # imports fill only what is empty (update_policy fill_empty): Zoë's repeated row said "Working"
    assert lead["fields"]["origin_status"] == "New"
    assert [(c["field"], c["submitted"], c["current"]) for c in lead["conflicts"]] == [
        ("lead.origin_status", "Working", "New")
    ], "a different job title only in its line break is no conflict"
    assert (
        lead["account"]["name"] == "Lindqvist Maritime AB" and lead["account"]["fields"]["employees"] == 120
    )
    assert len(zoe.lead_ids) == 1, "the repeated row updated the same lead"


def test_csv_without_an_email_column_is_422_before_anything_is_stored(
    client: Any, ingest_key: str, deps: Any
):
    from chalicelib.store.records import ImportRecord

    response = post_csv(client, ingest_key, b"Name,Company\nAda,Analytical Engines\n")

    assert response.status_code == 422 and response.json_body["error"]["field"] == "columns"
    assert "contact.email" in response.json_body["error"]["message"]
    assert list(ImportRecord.scan()) == []
    assert deps.objects._s3().list_objects_v2(Bucket=deps.objects.bucket).get("KeyCount") == 0


def test_bad_requests_are_refused_with_the_field_named(client: Any, ingest_key: str):
    assert (
        post_csv(client, ingest_key, HUBSPOT, "?mapping=%7Bnot-json").json_body["error"]["field"] == "mapping"
    )
    bad_target = quote(json.dumps({"columns": {"Email": "contact.email", "Job Title": "lead.state"}}))
    refused = post_csv(client, ingest_key, HUBSPOT, f"?mapping={bad_target}")
    assert refused.status_code == 422 and refused.json_body["error"]["field"].startswith("columns")
    assert post_csv(client, ingest_key, HUBSPOT, content_type="application/xml").status_code == 415
    assert client.http.get("/v1/imports/imp_nothing", headers={"X-Api-Key": ingest_key}).status_code == 404
    assert post_csv(client, "lf_wrong", HUBSPOT).status_code == 401


def test_body_larger_than_the_limit_is_413(client: Any, ingest_key: str, monkeypatch: pytest.MonkeyPatch):
    from chalicelib import wiring

    monkeypatch.setenv("IMPORT_MAX_BODY_BYTES", "100")
    wiring.reset()
    assert post_csv(client, ingest_key, HUBSPOT).status_code == 413


def test_s3_event_and_chunk_message_delivered_twice_change_nothing(
    client: Any, ingest_key: str, pump: Any, deps: Any
):
    from chalicelib.services import imports
    from chalicelib.store.records import LeadRecord

    answer = imported(client, ingest_key, HUBSPOT, "", pump)
    import_id = answer["import_id"]
    leads_before = len(list(LeadRecord.scan()))

    assert imports.object_created(f"imports/{import_id}.csv", deps) == import_id  # S3 delivers again
    pump.drain()
    head = deps.imports.head(import_id)
    rows = [{"n": n, "line": n + 1, "values": {"Email": "zoe.brandt@lindqvist-maritime.se"}} for n in (1, 2)]
    again = imports.process_chunk({"import_id": import_id, "chunk": 1, "rows": rows}, deps)

    assert again is False, "chunk 1 was counted already"
    assert get(client, f"/v1/imports/{import_id}", ingest_key).json_body["counts"] == answer["counts"]
    assert head is not None and head.chunks_total == 1
    assert len(list(LeadRecord.scan())) == leads_before


def test_rows_captured_before_a_crash_are_counted_once_when_the_chunk_comes_back(
    client: Any, ingest_key: str, deps: Any, monkeypatch: pytest.MonkeyPatch
):
    from chalicelib.services import imports
    from chalicelib.store.records import LeadRecord

    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(deps.import_queue, "send_many", sent.extend)
    import_id = post_csv(client, ingest_key, HUBSPOT).json_body["import_id"]
    imports.object_created(f"imports/{import_id}.csv", deps)
    [message] = sent
    real_capture = imports.capture
    calls = {"n": 0}

    def crash_on_third(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the function died here")
        return real_capture(*args, **kwargs)

    monkeypatch.setattr(imports, "capture", crash_on_third)
    with pytest.raises(RuntimeError):
        imports.process_chunk(message, deps)
    monkeypatch.setattr(imports, "capture", real_capture)
    assert imports.process_chunk(message, deps) is True  # the redelivery

    answer = get(client, f"/v1/imports/{import_id}", ingest_key).json_body
    assert answer["status"] == "completed"
    assert answer["counts"] == {"created": 4, "updated": 0, "duplicates": 1, "rejected": 2}
    assert len(list(LeadRecord.scan())) == 4


def test_a_row_for_a_known_person_and_topic_updates_their_lead(
    client: Any, ingest_key: str, pump: Any, admin_key: str
):
    from tests.integration.helpers import post_json

    known = post_json(
        client,
        "/v1/leads",
        {"contact": {"email": "asa.holm@lindqvist-maritime.se"}, "lead": {"topic": "Spring fair"}},
        {"X-Api-Key": ingest_key},
    ).json_body

    answer = imported(client, ingest_key, HUBSPOT, "?topic=Spring%20fair", pump)

    assert answer["counts"] == {"created": 3, "updated": 1, "duplicates": 1, "rejected": 2}
    lead = get(client, f"/v1/leads/{known['lead_id']}", admin_key).json_body
    assert lead["contact"]["fields"]["job_title"] == "CFO"


def test_large_file_is_uploaded_to_s3_by_a_presigned_url_and_imported(
    client: Any, ingest_key: str, pump: Any, deps: Any
):
    from urllib.parse import urlparse

    body = {"name": "big export", "mapping": {"topic": "Upload", "columns": {"Lead Status": "ignore"}}}
    created = client.http.post(
        "/v1/imports",
        headers={"Content-Type": "application/json", "X-Api-Key": ingest_key},
        body=json.dumps(body),
    )
    assert created.status_code == 201
    upload = created.json_body["upload"]
    assert upload["method"] == "PUT" and "X-Amz-Signature" in upload["url"]
    assert urlparse(upload["url"]).path.endswith(f"imports/{created.json_body['import_id']}.csv")
    deps.objects.put(f"imports/{created.json_body['import_id']}.csv", HUBSPOT)  # what the client's PUT does

    pump.drain()
    answer = get(client, f"/v1/imports/{created.json_body['import_id']}", ingest_key).json_body

    assert answer["status"] == "completed" and answer["name"] == "big export"
    assert answer["counts"]["created"] == 4
    assert (
        "Lead Status" not in answer["mapping"]["columns"]
        or answer["mapping"]["columns"]["Lead Status"] == "ignore"
    )


def test_upload_without_an_email_column_fails_the_import_with_the_reason(
    client: Any, ingest_key: str, pump: Any, deps: Any
):

    created = client.http.post(
        "/v1/imports", headers={"Content-Type": "application/json", "X-Api-Key": ingest_key}, body="{}"
    ).json_body
    deps.objects.put(f"imports/{created['import_id']}.csv", b"Name,Company\nAda,AE\n")

    pump.drain()
    answer = get(client, f"/v1/imports/{created['import_id']}", ingest_key).json_body

    assert answer["status"] == "failed" and answer["error"]["field"] == "columns"
    assert answer["counts"] == {"created": 0, "updated": 0, "duplicates": 0, "rejected": 0}


@pytest.mark.skipif(not XEDU.exists(), reason="the shared sample data is not on this machine")
def test_x_education_rows_import_with_their_last_activity_as_interactions(
    client: Any, ingest_key: str, pump: Any, deps: Any
):
    data = x_education_csv(120)
    query = "?mapping=" + quote(json.dumps(X_EDUCATION_MAPPING))

    answer = imported(client, ingest_key, data, query, pump)

    counts = answer["counts"]
    assert answer["status"] == "completed" and answer["rows_total"] == 120
    assert sum(counts.values()) == 120 and counts["created"] >= 110, answer["errors"][:3]
    with XEDU.open(newline="", encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    contact = contacts_by_email()[f"lead-{first['Prospect ID']}@example.com"]
    assert contact.fields["do_not_email"] is False and contact.fields["seconds_on_site"] == 0
    [activity] = list(deps.store.interactions_of(contact.contact_id))
    assert activity.type == "page_visited_on_website" and activity.properties["row"] == 1
    with XEDU.open(newline="", encoding="utf-8") as handle:
        active = sum(
            1 for n, row in zip(range(120), csv.DictReader(handle), strict=False) if row["Last Activity"]
        )
    assert answer["interactions"] == active - sum(1 for e in answer["errors"])


def test_a_file_copied_straight_into_the_bucket_is_imported_with_the_automatic_mapping(
    client: Any, ingest_key: str, pump: Any, deps: Any
):
    from chalicelib.domain.ids import derived_id

    deps.objects.put(
        "imports/crm/export-2026-11.csv", HUBSPOT
    )  # aws s3 cp export.csv s3://<bucket>/imports/crm/
    pump.drain()
    pump.drain()  # S3 delivers again: nothing new

    answer = get(
        client, f"/v1/imports/{derived_id('imp', 'imports/crm/export-2026-11.csv')}", ingest_key
    ).json_body
    assert answer["status"] == "completed" and answer["name"] == "imports/crm/export-2026-11.csv"
    assert answer["counts"] == {"created": 4, "updated": 0, "duplicates": 1, "rejected": 2}
