"""CSV import on the local stack: rows per second from ``POST /v1/imports`` to the import's
``completed``, with DynamoDB calls per row, next to raw ``put_item`` calls per second on the same moto
server in the same run (the floor: a row must write at least its contact, its lead and a claim).

    .venv/bin/python -m bench.imports [--rows 9237]

The X Education file (../shared/data) is imported with ``bench.samples.X_EDUCATION_MAPPING``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.samples import X_EDUCATION_MAPPING, x_education_csv

RESULTS = Path(__file__).resolve().parent / "results"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _count_calls(counter: Counter[str], seconds: dict[str, float], lock: threading.Lock) -> None:
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def call(self: Any, name: str, params: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            return original(self, name, params)
        finally:
            key = f"{self.meta.service_model.service_name}:{name}"
            with lock:
                counter[key] += 1
                seconds[key] = seconds.get(key, 0.0) + time.perf_counter() - started

    BaseClient._make_api_call = call


def _put_items_per_second(endpoint: str, table: str, seconds: float = 5.0) -> float:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        client.put_item(TableName=table, Item={"key": {"S": f"floor#{count}"}, "owner_id": {"S": "x"}})
        count += 1
    return count / (time.perf_counter() - started)


def _transactions_per_second(endpoint: str, table: str, seconds: float = 5.0) -> float:
    """Three-item ``TransactWriteItems`` (a capture's contact, claim and lead, at the least) per second."""
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint)
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"key": {"S": f"tx#{count}#{n}"}, "owner_id": {"S": "x"}},
                    }
                }
                for n in range(3)
            ]
        )
        count += 1
    return count / (time.perf_counter() - started)


def figures(rows: int | None) -> dict[str, Any]:
    from chalice.local import ChaliceRequestHandler

    from leadflow_local import importer
    from leadflow_local import stack as local
    from leadflow_local.http import call

    logging.disable(logging.CRITICAL)
    ChaliceRequestHandler.log_message = lambda *_args: None
    os.environ.update({"POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true"})
    data = x_education_csv(rows)
    calls: Counter[str] = Counter()
    spent: dict[str, float] = {}
    lock = threading.Lock()
    _count_calls(calls, spent, lock)
    with local.running(port=_free_port(), aws_port=_free_port()) as stack:
        keys_table = stack.resources.tables["KeysTable"]
        floor = _put_items_per_second(stack.aws_endpoint, keys_table)
        transactions = _transactions_per_second(stack.aws_endpoint, keys_table)
        upload = Path(tempfile.mkdtemp()) / "leads.csv"
        upload.write_bytes(data)
        with lock:
            calls.clear()
            spent.clear()
        started = time.perf_counter()
        # as ``leadflow import FILE`` does: the body up to 5 MB, a pre-signed S3 upload beyond
        import_id = importer.start(stack.api_url, stack.api_key, upload, X_EDUCATION_MAPPING, {})
        while True:
            _, progress = call(
                "GET", f"{stack.api_url}/v1/imports/{import_id}", headers={"X-Api-Key": stack.api_key}
            )
            if progress["status"] in ("completed", "failed"):
                break
            time.sleep(1.0)
        elapsed = time.perf_counter() - started
        with lock:
            snapshot = Counter(calls)
            busy = dict(spent)
    total = int(progress["rows_total"] or 0)
    dynamodb = sum(v for k, v in snapshot.items() if k.startswith("dynamodb:"))
    return {
        "rows": total,
        "bytes": len(data),
        "status": progress["status"],
        "counts": progress["counts"],
        "interactions": progress["interactions"],
        "seconds": round(elapsed, 1),
        "rows_per_second": round(total / elapsed, 1),
        "dynamodb_calls": dynamodb,
        "dynamodb_calls_per_row": round(dynamodb / max(1, total), 2),
        "sqs_calls": sum(v for k, v in snapshot.items() if k.startswith("sqs:")),
        "floor_put_item_per_second": round(floor, 1),
        "floor_3_item_transactions_per_second": round(transactions, 1),
        "ratio_rows_to_transaction_floor": round(total / elapsed / transactions, 2),
        "seconds_by_call": {k: round(v, 1) for k, v in sorted(busy.items(), key=lambda kv: -kv[1])[:8]},
        "calls_by_kind": dict(snapshot.most_common(12)),
        "note": "floors measured on the idle stack before the import; calls include the stream functions "
        "(scoring, qualification) that run during the import",
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=None, help="import only the first N rows")
    args = parser.parse_args()
    results = figures(args.rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "imports.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
