"""The tables' capacity mode, written into ``infra/template.json`` (issue 19, the cost of a capture).

On-demand (the default, ``TableCapacity=on-demand``) bills every request: nothing to size, any burst
absorbed, $0.625 per million write units. A stage whose traffic is steady can deploy with
``--param TableCapacity=provisioned``: the tables that grow with leads, interactions and e-mails
(``TABLES``) are then provisioned, and Application Auto Scaling keeps each table's and each global
secondary index's read and write capacity at ``CapacityTargetUtilization`` percent of what is used,
between ``CapacityMinUnits`` and ``CapacityMaxUnits``. A fully used write unit costs about a third of
the same writes on demand (``bench/cost.py`` prices both); a burst beyond the capacity and DynamoDB's
burst allowance (five minutes of unused capacity) is throttled until scaling catches up (minutes), so
a stage with bursty traffic (a campaign's launch) stays on demand. Configuration tables (forms, keys,
models, rules...) stay on demand either way: their traffic is tiny and their floor would cost more.

CloudFormation has no loop (short of the ``AWS::LanguageExtensions`` transform, which moto and the
SAM translator used by the tests do not run), so this script writes the per-table and per-index
settings and the scaling resources (``<Table>[<Index>]{Read,Write}Scaling{Target,Policy}``) into the
template; it is idempotent. After adding a table to ``TABLES`` or an index to one of them::

    python infra/capacity.py            # rewrite infra/template.json
    python infra/capacity.py --check    # exit 1 if the template is not what this script writes

``tests/infra/test_template.py`` runs the check.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parent / "template.json"

#: The tables written per capture, per interaction and per e-mail (the lifecycle bench's tables, the
#: mail outbox and the journeys' enrollments).
TABLES = (
    "ContactsTable",
    "AccountsTable",
    "LeadsTable",
    "InteractionsTable",
    "KeysTable",
    "ScoresTable",
    "HandoffsTable",
    "LeadHistoryTable",
    "IdentityTable",
    "IdempotencyTable",
    "RateLimitsTable",
    "MailTable",
    "JourneysTable",
)
CONDITION = "ProvisionedTables"
PARAMETERS: dict[str, dict[str, Any]] = {
    "TableCapacity": {
        "Type": "String",
        "AllowedValues": ["on-demand", "provisioned"],
        "Default": "on-demand",
        "Description": "on-demand: every request billed, any burst absorbed. provisioned: the tables "
        "that grow with leads, interactions and e-mails get capacity kept by auto scaling at "
        "CapacityTargetUtilization (cheaper for steady traffic; a burst beyond it is throttled until "
        "scaling catches up). See infra/capacity.py.",
    },
    "CapacityTargetUtilization": {
        "Type": "Number",
        "Default": 70,
        "MinValue": 20,
        "MaxValue": 90,
        "Description": "provisioned: the percentage of each table's and index's capacity auto scaling "
        "aims to use.",
    },
    "CapacityMinUnits": {
        "Type": "Number",
        "Default": 1,
        "MinValue": 1,
        "Description": "provisioned: the fewest read and write units of each table and index (each "
        "unit costs every hour, used or not).",
    },
    "CapacityMaxUnits": {
        "Type": "Number",
        "Default": 4000,
        "MinValue": 1,
        "Description": "provisioned: the most read and write units auto scaling may give a table or an "
        "index (a ceiling on the bill).",
    },
}
_DIMENSIONS = {
    "Read": ("ReadCapacityUnits", "DynamoDBReadCapacityUtilization"),
    "Write": ("WriteCapacityUnits", "DynamoDBWriteCapacityUtilization"),
}


def _throughput() -> dict[str, Any]:
    units = {"Ref": "CapacityMinUnits"}
    return {
        "Fn::If": [
            CONDITION,
            {"ReadCapacityUnits": units, "WriteCapacityUnits": units},
            {"Ref": "AWS::NoValue"},
        ]
    }


def _camel(index: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", index) if part)


def _scaling(table: str, index: str | None, condition: str = CONDITION) -> dict[str, Any]:
    """The scalable targets and target-tracking policies of one table or one of its indexes (under
    ``condition``: an index that exists only under a condition of its own scales only with it)."""
    kind = "index" if index else "table"
    resource_id: dict[str, Any] = (
        {"Fn::Sub": ["table/${Table}/index/" + index, {"Table": {"Ref": table}}]}
        if index
        else {"Fn::Sub": ["table/${Table}", {"Table": {"Ref": table}}]}
    )
    name = f"{table}{_camel(index) if index else ''}"
    resources: dict[str, Any] = {}
    for dimension, (units, metric) in _DIMENSIONS.items():
        target = f"{name}{dimension}ScalingTarget"
        resources[target] = {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Condition": condition,
            "Properties": {
                "ServiceNamespace": "dynamodb",
                "ScalableDimension": f"dynamodb:{kind}:{units}",
                "ResourceId": resource_id,
                "MinCapacity": {"Ref": "CapacityMinUnits"},
                "MaxCapacity": {"Ref": "CapacityMaxUnits"},
            },
        }
        resources[f"{name}{dimension}ScalingPolicy"] = {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "Condition": condition,
            "Properties": {
                "PolicyName": {"Fn::Sub": f"${{AWS::StackName}}-{name}-{dimension.lower()}"},
                "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": {"Ref": target},
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": {"Ref": "CapacityTargetUtilization"},
                    "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
                },
            },
        }
    return resources


def apply(template: dict[str, Any]) -> dict[str, Any]:
    """``template`` with the capacity parameters, condition, per-table settings and scaling resources
    (the old scaling resources replaced, so an index dropped from a table loses its own)."""
    out = json.loads(json.dumps(template))
    out["Parameters"].update(json.loads(json.dumps(PARAMETERS)))
    out["Conditions"][CONDITION] = {"Fn::Equals": [{"Ref": "TableCapacity"}, "provisioned"]}
    resources: dict[str, Any] = {
        name: resource
        for name, resource in out["Resources"].items()
        if resource.get("Type")
        not in ("AWS::ApplicationAutoScaling::ScalableTarget", "AWS::ApplicationAutoScaling::ScalingPolicy")
    }
    for table in TABLES:
        props = resources[table]["Properties"]
        props["BillingMode"] = {"Fn::If": [CONDITION, "PROVISIONED", "PAY_PER_REQUEST"]}
        props["ProvisionedThroughput"] = _throughput()
        resources.update(_scaling(table, None))
        for entry in props.get("GlobalSecondaryIndexes", []):
            condition, index = CONDITION, entry
            if "Fn::If" in entry:  # an index under a condition (``{"Fn::If": [c, index, NoValue]}``)
                own, index = entry["Fn::If"][0], entry["Fn::If"][1]
                condition = f"{CONDITION}And{own}"
                out["Conditions"][condition] = {"Fn::And": [{"Condition": CONDITION}, {"Condition": own}]}
            index["ProvisionedThroughput"] = _throughput()
            resources.update(_scaling(table, index["IndexName"], condition))
    out["Resources"] = resources
    return out


def render(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the template is not up to date")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    args = parser.parse_args(argv)
    text = args.template.read_text()
    wanted = render(apply(json.loads(text)))
    if args.check:
        if text != wanted:
            print(f"{args.template} is not what infra/capacity.py writes: run python infra/capacity.py")
            return 1
        return 0
    args.template.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
