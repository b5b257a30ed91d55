"""Leadflow's benchmark suite: one command, one table, one JSON file, and the budgets CI holds.

    make bench                                # python -m bench.run: every section but the long ones
    make bench-full                           # python -m bench.run --full: + latency (500) and bulk (20,000)
    python -m bench.run --quick               # what CI checks: ratios and counts against bench/budgets.json
    python -m bench.run --only engine,zip     # some sections

Sections (each figure next to its floor, measured in the same run):
  cold       ``import app`` vs ``import boto3`` + one DynamoDB client (fresh interpreters, medians),
             and each handler's first call after ``import app`` (bench/first_call.py)
  ingest     DynamoDB units per form submission; submissions/s through the real handler on moto vs raw
             ``put_item``/s on the same moto (the floor: three items per capture)
  lifecycle  DynamoDB units and calls, SQS requests per lead from capture to hand-off; cost per 1,000
  engine     scoring engine evaluations/s vs the same model hand-coded
  zip        the deployment zip ``chalice package`` builds, before and after infra/slim_zip.py
  latency    form POST to the hand-off message on the local stack, p50/p99 (``--latency-leads``)
  bulk       rescoring and importing ``--bulk-leads`` leads on the local stack: leads/s, calls per lead

Writes ``bench/results/bench.json`` (or ``--json``). With ``--quick`` (or ``--check``) the budgets in
``bench/budgets.json`` are checked; a figure over its limit is printed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
BUDGETS = ROOT / "bench" / "budgets.json"
DEFAULT = ("cold", "ingest", "lifecycle", "engine", "zip")
ALL = (*DEFAULT, "latency", "bulk")
#: ``bulk`` in two halves, to run (or rerun) one at a time: ``--only rescoring`` / ``--only import``
HALVES = ("rescoring", "import")
QUICK = ("cold", "lifecycle", "engine")


# ---------------------------------------------------------------- sections


def cold(args: argparse.Namespace) -> dict[str, Any]:
    from bench.capture import cold_start

    figures: dict[str, Any] = cold_start(args.runs, importtime=not args.quick)
    if not args.quick:
        from bench.first_call import first_calls

        figures["first_call"] = first_calls(max(1, args.runs // 3))
    return figures


def ingest(args: argparse.Namespace) -> dict[str, Any]:
    from bench.capture import capture_figures

    return capture_figures(args.submissions)


def lifecycle(args: argparse.Namespace) -> dict[str, Any]:
    from bench.lifecycle import units_figures

    return units_figures(args.unit_leads)


def engine(args: argparse.Namespace) -> dict[str, Any]:
    from bench.scoring import engine_figures

    return engine_figures(args.evaluations)


def deployment_zip(_args: argparse.Namespace) -> dict[str, Any]:
    """``make package``'s zip (needs the package index, or a wheelhouse, for Lambda-platform wheels)."""
    import zipfile
    from collections import Counter

    from leadflow_local.packaging import package

    with tempfile.TemporaryDirectory() as out:
        packaged = package("prod", Path(out))
        with zipfile.ZipFile(packaged.zip) as archive:
            by_package: Counter[str] = Counter()
            for info in archive.infolist():
                by_package[info.filename.split("/")[0]] += info.compress_size
        before, after = packaged.zip_bytes_before_slim, packaged.zip_bytes
    return {
        "chalice_package_bytes": before,
        "slimmed_bytes": after,
        "chalice_package_mb": round(before / 1e6, 2),
        "slimmed_mb": round(after / 1e6, 2),
        "largest_mb": {k: round(v / 1e6, 2) for k, v in by_package.most_common(6)},
    }


def _in_child(module: str, function: str, argument: int) -> dict[str, Any]:
    """A local-stack figure in a fresh interpreter: one process runs one local stack (Chalice's local
    server cannot be created twice in one process)."""
    code = f"import json; from {module} import {function} as f; print(json.dumps(f({argument})))"
    done = subprocess.run(  # noqa: S603 - our own interpreter and modules
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module}.{function} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def latency(args: argparse.Namespace) -> dict[str, Any]:
    return _in_child("bench.lifecycle", "latency_figures", args.latency_leads)


def bulk_rescoring(args: argparse.Namespace) -> dict[str, Any]:
    return _in_child("bench.scoring", "bulk_rescoring", args.bulk_leads)


def bulk_import(args: argparse.Namespace) -> dict[str, Any]:
    return _in_child("bench.imports", "figures", args.bulk_leads)


def bulk(args: argparse.Namespace) -> dict[str, Any]:
    return {"rescoring": bulk_rescoring(args), "import": bulk_import(args)}


SECTIONS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "cold": cold,
    "ingest": ingest,
    "lifecycle": lifecycle,
    "engine": engine,
    "zip": deployment_zip,
    "latency": latency,
    "bulk": bulk,
    "rescoring": bulk_rescoring,
    "import": bulk_import,
}


# ---------------------------------------------------------------- budgets


def lookup(results: dict[str, Any], path: str) -> Any:
    value: Any = results
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def check_budgets(results: dict[str, Any], budgets: dict[str, Any]) -> list[dict[str, Any]]:
    """One line per budget whose figure this run measured: figure, limit, ok."""
    lines = []
    for name, budget in budgets["budgets"].items():
        figure = lookup(results, budget["figure"])
        if figure is None:
            continue
        lines.append(
            {
                "budget": name,
                "figure": budget["figure"],
                "value": figure,
                "limit": budget["max"],
                "ok": figure <= budget["max"],
                "why": budget["why"],
            }
        )
    return lines


# ---------------------------------------------------------------- the table


def _cost_rows(lc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The all-in cost per million captures and the storage of a million leads (bench/cost.py)."""
    rows: list[tuple[str, str, str]] = []
    if all_in := lc.get("cost_per_million_captures"):
        parts = all_in["usd_by_service"]
        lambda_usd = sum(v for k, v in parts.items() if k.startswith("lambda"))
        rows.append(
            (
                "cost per million captures, all in (bench/cost.py)",
                f"${all_in['usd_total']}",
                f"DynamoDB ${parts['dynamodb_writes'] + parts['dynamodb_reads']:.2f}, "
                f"Lambda ${lambda_usd:.2f}, API ${parts['api_gateway']}, logs ${parts['cloudwatch_logs']}",
            )
        )
    if steady := lc.get("cost_per_million_captures_provisioned"):
        parts = steady["usd_by_service"]
        rows.append(
            (
                "  the same, TableCapacity=provisioned (infra/capacity.py)",
                f"${steady['usd_total']}",
                f"DynamoDB ${parts['dynamodb_writes'] + parts['dynamodb_reads']:.2f} at "
                f"{steady['captures_per_month'] / 1e6:g} M captures a month, "
                f"{steady['target_utilization']:.0%} used; "
                f"minimum ${steady['minimum_capacity_usd_per_month']}/month",
            )
        )
    if stored := lc.get("cost_per_million_stored_leads_per_month"):
        rows.append(
            (
                "a million stored leads, per month",
                f"${stored['usd_storage']}",
                f"{stored['gb']} GB "
                f"({lc['stored_bytes_per_lead']} B, {lc['stored_items_per_lead']} items a lead)",
            )
        )
    return rows


def _rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    if c := results.get("cold"):
        rows.append(
            (
                "cold start: import app / import boto3 + DynamoDB client",
                f"{c['import_app_ms']} / {c['import_boto3_and_client_ms']} ms",
                f"{c['ratio_app_to_boto3_and_client']}x (median of {c['runs']}; import boto3 alone "
                f"{c['import_boto3_ms']} ms)",
            )
        )
        for handler, f in c.get("first_call", {}).items():
            rows.append(
                (
                    f"first call after import app: {handler}",
                    f"{f['first_call_ms']} ms",
                    f"then {f['second_call_ms']} ms (moto and boto3 already imported)",
                )
            )
    if i := results.get("ingest"):
        for case, u in i["units"].items():
            rows.append(
                (
                    f"units per submission, {case.replace('_', ' ')}",
                    f"{u['wcu_per_submission']} WCU, {u['rcu_per_submission']} RCU",
                    f"{u['dynamodb_calls_per_submission']} calls; reported by moto: "
                    f"{u['reported_wcu_per_submission']} WCU",
                )
            )
        rows.append(
            (
                "ingest: submissions/s through the handlers (moto)",
                f"{i['submissions_per_second']}/s",
                f"floor {i['floor_captures_per_second']}/s (put_item {i['raw_put_item_per_second']}/s / 3): "
                f"{i['floor_over_handler']}x faster",
            )
        )
        rows.append(
            (
                "ingest: vs raw 3-item transact_write_items (moto)",
                f"{i['raw_three_item_transactions_per_second']}/s",
                f"handler at {i['ratio_to_transaction_floor']}x of it",
            )
        )
    if lc := results.get("lifecycle"):
        rows.append(
            (
                f"lifecycle units per lead ({lc['leads']} leads)",
                f"{lc['wcu_per_lead']} WCU, {lc['rcu_per_lead']} RCU",
                f"{lc['dynamodb_calls_per_lead']} DynamoDB calls, {lc['sqs_requests_per_lead']} SQS requests",
            )
        )
        rows.append(
            ("cost per 1,000 leads (on-demand)", f"${lc['cost_per_1000_leads_usd']}", "DynamoDB + SQS")
        )
        rows += _cost_rows(lc)
    if e := results.get("engine"):
        rows.append(
            (
                "scoring engine evaluations/s",
                f"{e['engine_evaluations_per_second']:,}/s",
                f"hand-coded {e['hand_coded_per_second']:,}/s: {e['hand_coded_over_engine']}x",
            )
        )
    if z := results.get("zip"):
        rows.append(
            ("deployment zip", f"{z['slimmed_mb']} MB", f"chalice package: {z['chalice_package_mb']} MB")
        )
    if la := results.get("latency"):
        rows.append(
            (
                f"form POST to hand-off, local stack ({la['handoffs_received']}/{la['leads']})",
                f"p50 {la['delay_p50_seconds']} s",
                f"p99 {la['delay_p99_seconds']} s",
            )
        )
    rows.extend(_bulk_rows(results.get("bulk", {})))
    return rows


def _bulk_rows(b: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    if r := b.get("rescoring"):
        rows.append(
            (
                f"bulk rescoring, {r['leads_scored']:,} leads",
                f"{r['leads_per_second']}/s",
                f"{r['dynamodb_calls_per_lead']} DynamoDB calls per lead; "
                f"moto {r['floor_put_item_per_second']} put_item/s",
            )
        )
    if imp := b.get("import"):
        rows.append(
            (
                f"bulk import, {imp['rows']:,} rows",
                f"{imp['rows_per_second']}/s",
                f"{imp['dynamodb_calls_per_row']} DynamoDB calls per row; "
                f"moto {imp['floor_put_item_per_second']} put_item/s",
            )
        )
    return rows


def print_table(results: dict[str, Any], checks: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Leadflow bench ({results['machine']['cpus']} CPUs, {results['machine']['python']})")
    for column in ("figure", "value", "against"):
        table.add_column(column)
    for row in _rows(results):
        table.add_row(*row)
    console = Console(width=160)
    console.print(table)
    if checks:
        budgets = Table(title="budgets (bench/budgets.json)")
        for column in ("budget", "value", "limit", ""):
            budgets.add_column(column)
        for line in checks:
            budgets.add_row(
                line["budget"], str(line["value"]), str(line["limit"]), "ok" if line["ok"] else "OVER BUDGET"
            )
        console.print(budgets)


# ---------------------------------------------------------------- main


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Leadflow benchmarks", prog="python -m bench.run")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="CI: cold, lifecycle, engine; check budgets")
    mode.add_argument("--full", action="store_true", help="every section, latency and bulk included")
    parser.add_argument("--only", help=f"comma-separated sections of {', '.join(ALL)}")
    parser.add_argument("--check", action="store_true", help="check bench/budgets.json (implied by --quick)")
    parser.add_argument("--runs", type=int, default=None, help="fresh interpreters per cold-start figure")
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--unit-leads", type=int, default=None)
    parser.add_argument("--evaluations", type=int, default=None)
    parser.add_argument("--latency-leads", type=int, default=None)
    parser.add_argument("--bulk-leads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=RESULTS / "bench.json")
    args = parser.parse_args(argv)
    quick, full = args.quick, args.full
    args.runs = args.runs or (11 if quick else 9)
    args.unit_leads = args.unit_leads or (10 if quick else 20)
    args.evaluations = args.evaluations or (8000 if quick else 20000)
    args.latency_leads = args.latency_leads or (500 if full else 200)
    args.bulk_leads = args.bulk_leads or (20000 if full else 2000)
    if args.only:
        args.sections = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = set(args.sections) - {*ALL, *HALVES}
        if unknown:
            parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    else:
        args.sections = list(QUICK if quick else ALL if full else DEFAULT)
    args.check = args.check or quick
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results: dict[str, Any] = {
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full" if args.full else "default",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "seconds": {},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    for name in args.sections:
        started = time.perf_counter()
        figures = SECTIONS[name](args)
        if name in HALVES:
            results.setdefault("bulk", {})[name] = figures
        else:
            results[name] = figures
        results["seconds"][name] = round(time.perf_counter() - started, 1)
        args.json.write_text(json.dumps(results, indent=2))  # what is done so far, should a later one fail
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    checks = check_budgets(results, json.loads(BUDGETS.read_text())) if args.check else []
    results["budgets"] = checks
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print_table(results, checks)
    print(f"written to {args.json}")
    over = [line for line in checks if not line["ok"]]
    for line in over:
        print(f"OVER BUDGET: {line['budget']} = {line['value']} (limit {line['limit']}: {line['why']})")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
