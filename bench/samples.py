"""Sample inputs shared by the benchmarks and the tests."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

#: ``../shared/data``: real lead data, next to the repository (not part of it).
X_EDUCATION = Path(__file__).resolve().parents[2] / "shared" / "data" / "x-education-leads.csv"

#: How an operator maps the X Education export (``leadflow import --mapping`` takes the same file): its
#: activity columns become contact fields and the last activity an interaction; the columns sales fill
#: in after contact (Tags, Lead Quality, ...) and the outcome are left out.
X_EDUCATION_MAPPING: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[1] / "events" / "imports" / "x_education_mapping.json").read_text()
)


def x_education_csv(rows: int | None = None, source_path: Path | None = None) -> bytes:
    """The X Education leads as CSV with an ``Email`` column added: the data set is anonymised (no
    addresses), so each Prospect ID stands in for one, as an operator would have to add them. The
    domain is ``example.com``: a mailbox domain, so no one company is made of 9,237 people. Asked for
    more rows than the file has, it starts over with new people (``-r2`` on the address and id)."""
    with (source_path or X_EDUCATION).open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fieldnames = reader.fieldnames or []
        source = list(reader)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["Email", *fieldnames])
    writer.writeheader()
    wanted = len(source) if rows is None else rows
    for n in range(wanted):
        row = dict(source[n % len(source)])
        lap = n // len(source)
        if lap:
            row["Prospect ID"] = f"{row['Prospect ID']}-r{lap + 1}"
        writer.writerow({"Email": f"lead-{row['Prospect ID']}@example.com", **row})
    return out.getvalue().encode()


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.samples x-education [--csv PATH] [--rows N] > leads.csv``: the X Education
    export with an ``Email`` column, ready for ``leadflow import leads.csv --mapping
    events/imports/x_education_mapping.json``."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m bench.samples", description=main.__doc__)
    parser.add_argument("sample", choices=["x-education"])
    parser.add_argument(
        "--csv", type=Path, default=X_EDUCATION, help="X Education's leads (default: %(default)s)"
    )
    parser.add_argument("--rows", type=int, default=None, help="this many rows (more repeat with new people)")
    args = parser.parse_args(argv)
    if not args.csv.is_file():
        parser.exit(1, f"no file {args.csv}: save X Education's leads there or give --csv PATH\n")
    sys.stdout.buffer.write(x_education_csv(args.rows, args.csv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
