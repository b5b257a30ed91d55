"""The contacts table's duplicate indexes (issue 19) reach a stage one per CloudFormation update: the
template adds ``by_dup_mail`` always and ``by_dup_phone`` under ``DuplicatePhoneIndex`` (a table may
gain only one global secondary index per update: docs/deploy.md)."""

from __future__ import annotations

from typing import Any

import pytest

from leadflow_local.resources import NO_VALUE, LocalResources, load_template

BEFORE_ISSUE_19_ITEM_1 = {"by_account", "by_audience"}


def contacts_indexes(phone_index: bool) -> tuple[set[str], set[str]]:
    template = load_template()
    found = LocalResources(conditions={"HasDuplicatePhoneIndex": phone_index})
    props: dict[str, Any] = template["Resources"]["ContactsTable"]["Properties"]
    indexes = [found.resolve(i) for i in props["GlobalSecondaryIndexes"]]
    names = {i["IndexName"] for i in indexes if i is not NO_VALUE}
    defined = {
        a["AttributeName"] for a in map(found.resolve, props["AttributeDefinitions"]) if a is not NO_VALUE
    }
    keyed = {k["AttributeName"] for i in indexes if i is not NO_VALUE for k in i["KeySchema"]}
    assert defined == keyed | {"contact_id"}, "every attribute defined is a key (DynamoDB refuses others)"
    return names, defined


@pytest.mark.parametrize(
    ("phone_index", "added"), [(False, {"by_dup_mail"}), (True, {"by_dup_mail", "by_dup_phone"})]
)
def test_the_contacts_table_gains_the_phone_index_only_with_its_parameter(phone_index: bool, added: set[str]):
    names, _ = contacts_indexes(phone_index)
    assert names - BEFORE_ISSUE_19_ITEM_1 == added


def test_the_parameter_defaults_to_both_indexes_and_reaches_the_functions():
    template = load_template()
    assert template["Parameters"]["DuplicatePhoneIndex"]["Default"] == "true"
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["DUPLICATE_PHONE_INDEX"] == {"Ref": "DuplicatePhoneIndex"}
