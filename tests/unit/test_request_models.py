"""Request models (chalicelib/api/schemas) refuse unknown keys and bad values with the same field
errors the hand-written checks gave: the 422 names the field, in the same words."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api.schemas.bodies import ConsentRequest, MergeRequest, TrainRequest, UploadRequest
from chalicelib.api.schemas.common import parse
from chalicelib.api.schemas.queries import ContactsQuery, FunnelQuery, LeadsQuery, NoQuery, QuarantineQuery
from chalicelib.domain.errors import ValidationFailed


def errors(model: Any, data: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(ValidationFailed) as refused:
        parse(model, data)
    return [e.as_dict() for e in refused.value.errors]


@pytest.mark.parametrize(
    ("model", "data", "expected"),
    [
        (LeadsQuery, {"colour": "red"}, ("colour", "colour is not a filter of this list", "invalid")),
        (QuarantineQuery, {"x": "1"}, ("x", "x is not a filter of this list", "invalid")),
        (FunnelQuery, {"from": "2026-01-01"}, ("from", "from is not a parameter of the funnel", "invalid")),
        (NoQuery, {"a": "1"}, ("a", "this report takes no parameters", "invalid")),
        (MergeRequest, {"ids": []}, ("ids", "ids is not a property of a merge", "invalid")),
        (ConsentRequest, {"lvl": "x"}, ("lvl", "lvl is not a property of a consent change", "invalid")),
        (UploadRequest, {"b": 1, "a": 1}, ("a", "a is not a known property", "unknown_field")),
        (TrainRequest, {"other": 1}, ("publish", "the body may hold only publish: true or false", "invalid")),
    ],
)
def test_an_unknown_key_is_named_in_the_words_of_its_route(model: Any, data: Any, expected: Any):
    field, message, code = expected
    assert errors(model, data)[0] == {"field": field, "message": message, "code": code}


def test_values_are_refused_naming_the_field():
    assert errors(LeadsQuery, {"limit": "0"})[0]["message"] == "limit must be an integer from 1 to 100"
    assert [e["field"] for e in errors(LeadsQuery, {"state": "", "source": " "})] == ["source", "state"]
    assert errors(ContactsQuery, {"marketing_only": "yes"})[0]["field"] == "marketing_only"
    assert errors(ContactsQuery, {"email": "a@b.c", "limit": "5"})[0]["field"] == "email"
    assert errors(TrainRequest, {"publish": "true"})[0]["field"] == "publish"
    assert errors(QuarantineQuery, {"state": "gone"})[0]["message"] == "state must be held or released"


def test_query_text_becomes_typed_values():
    query = parse(LeadsQuery, {"limit": "10", "model_id": "b2b", "min_score": "-5"})
    assert (query.limit, query.min_score) == (10, -5)
    assert parse(ContactsQuery, {"marketing_only": "false"}).marketing_only is False
    assert parse(FunnelQuery, {"since": "2026-01-01"}).since is not None
