"""Predictive scoring on real leads: X Education's 9,237 leads (outcome ``Converted``).

Each CSV row becomes a lead, a contact and interactions, and goes through the same feature extraction
(``observe``) and trainer as stored leads. Columns that sales fills in after contacting a lead leak the
outcome and are never read: ``Tags``, ``Lead Quality``, ``Lead Profile``, ``Last Notable Activity`` and
the ``Asymmetrique ...`` indices (nor the identifiers ``Prospect ID``; ``Lead Number`` only orders).
``Last Activity`` is left out too unless ``--with-last-activity``: it is the latest activity at export
time, so it moves as sales works a lead ("SMS Sent" is 34% of the older 80% of leads and 14% of the
newest 20%); a model trained on it scores worse on the newest leads than one without it.

``TotalVisits`` becomes that many ``page_visited`` interactions (blank or text: none), ``Total Time Spent
on Website`` and ``Page Views Per Visit`` lead fields, the form's answers lead and contact fields.

The CSV has no dates. ``Lead Number`` grows with time, so leads are dated in that order and the split
is the same as in production: the older 80% train, the newest 20% evaluate. ``Select`` is the form's
"no answer" and reads as missing.

Run: ``make bench-predictive`` or
``.venv/bin/python bench/predictive.py --csv ../shared/data/x-education-leads.csv``
(``--shuffle-labels`` trains on permuted outcomes: the AUC must fall to about 0.5).
Prints the figures and writes ``bench/results/predictive.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results"
DEFAULT_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "x-education-leads.csv"

from chalicelib.domain.entities import Contact, Interaction, Lead  # noqa: E402
from chalicelib.domain.predictive import TrainingConfig, observe, parse_predictive  # noqa: E402
from chalicelib.domain.predictive_training import Example, roc_auc, train  # noqa: E402

LEAKY = (
    "Tags",
    "Lead Quality",
    "Lead Profile",
    "Last Notable Activity",
    "Asymmetrique Activity Index",
    "Asymmetrique Profile Index",
    "Asymmetrique Activity Score",
    "Asymmetrique Profile Score",
)
LEAD_FIELDS = {
    "Lead Origin": "origin",
    "Lead Source": "source",
    "Do Not Email": "do_not_email",
    "Do Not Call": "do_not_call",
    "Total Time Spent on Website": "seconds_on_site",
    "Page Views Per Visit": "page_views_per_visit",
    "How did you hear about X Education": "heard_from",
    "Search": "saw_search_ad",
    "Magazine": "saw_magazine",
    "Newspaper Article": "saw_newspaper_article",
    "X Education Forums": "saw_forums",
    "Newspaper": "saw_newspaper",
    "Digital Advertisement": "saw_digital_ad",
    "Through Recommendations": "recommended",
    "Receive More Updates About Our Courses": "wants_course_updates",
    "Update me on Supply Chain Content": "wants_supply_chain_content",
    "Get updates on DM Content": "wants_dm_content",
    "I agree to pay the amount through cheque": "pays_by_cheque",
    "A free copy of Mastering The Interview": "wants_free_copy",
}
CONTACT_FIELDS = {
    "Country": "country",
    "City": "city",
    "Specialization": "specialization",
    "What is your current occupation": "occupation",
    "What matters most to you in choosing a course": "motivation",
}
START = datetime(2024, 1, 1, tzinfo=UTC)
AS_OF = datetime(2026, 11, 24, tzinfo=UTC)


def _value(text: str) -> str | None:
    text = text.strip()
    return None if text in ("", "Select") else text


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:64] or "other"


def example(row: dict[str, str], created_at: datetime, last_activity: bool = False) -> Example:
    key = row["Prospect ID"]
    fields = {name: _value(row[column]) for column, name in LEAD_FIELDS.items()}
    lead = Lead(key, key, {k: v for k, v in fields.items() if v is not None}, created_at, created_at)
    answers = {name: _value(row[column]) for column, name in CONTACT_FIELDS.items()}
    contact = Contact(key, None, {k: v for k, v in answers.items() if v is not None}, created_at, created_at)
    interactions = []
    visits = row["TotalVisits"].strip()
    # text and blanks in TotalVisits are read as no visits recorded (the CSV has 137 blanks)
    for n in range(int(float(visits)) if visits.replace(".", "", 1).isdigit() else 0):
        interactions.append(Interaction(f"{key}-v{n}", key, "page_visited", created_at))
    last = _value(row["Last Activity"]) if last_activity else None
    if last is not None:
        interactions.append(Interaction(f"{key}-last", key, _slug(last), created_at))
    seen = observe(lead, contact, None, interactions, created_at)
    return Example(seen, row["Converted"].strip() == "1", created_at, key)


def load(path: Path, last_activity: bool = False) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows.sort(key=lambda r: int(r["Lead Number"]))
    return [example(row, START + timedelta(hours=n), last_activity) for n, row in enumerate(rows)]


def paired_bootstrap(evaluation: dict[str, list[float]], resamples: int = 1000) -> dict[str, Any]:
    """The AUC difference on the evaluation leads, and how much it moves when they are resampled."""
    labels = [int(y) for y in evaluation["outcome"]]
    model, baseline = evaluation["model"], evaluation["baseline"]
    rng = random.Random(11)
    differences = []
    for _ in range(resamples):
        picked = [rng.randrange(len(labels)) for _ in labels]
        ys = [labels[i] for i in picked]
        ours = roc_auc([model[i] for i in picked], ys)
        theirs = roc_auc([baseline[i] for i in picked], ys)
        if ours is not None and theirs is not None:
            differences.append(ours - theirs)
    differences.sort()
    ours_all, theirs_all = roc_auc(model, labels), roc_auc(baseline, labels)
    return {
        "difference": (ours_all or 0.0) - (theirs_all or 0.0),
        "low": differences[int(0.025 * len(differences))],
        "high": differences[int(0.975 * len(differences)) - 1],
        "resamples": len(differences),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    parser.add_argument("--holdout", type=float, default=0.2)
    parser.add_argument("--regularization", type=float, default=None, help="default: chosen on a time split")
    parser.add_argument("--shuffle-labels", action="store_true")
    parser.add_argument(
        "--with-last-activity",
        action="store_true",
        help="also read Last Activity (as one interaction of that type): it changes as sales works a lead",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "predictive.json")
    args = parser.parse_args()
    examples = load(args.csv, last_activity=args.with_last_activity)
    if args.shuffle_labels:
        labels = [e.outcome for e in examples]
        random.Random(7).shuffle(labels)
        examples = [Example(e.seen, y, e.created_at, e.key) for e, y in zip(examples, labels, strict=True)]
    started = time.perf_counter()
    trained = train(
        examples, TrainingConfig(regularization=args.regularization, holdout_fraction=args.holdout)
    )
    seconds = time.perf_counter() - started
    metrics = trained.metrics
    model, baseline, split = metrics["model"], metrics["baseline"], metrics["split"]
    size = len(json.dumps(trained.parameters))
    lines = [
        f"leads {len(examples)} ({metrics['examples']['positive']} converted); "
        f"train {split['train_leads']} older, evaluate {split['evaluation_leads']} newer "
        f"({split['evaluation_positives']} converted)",
        f"{'':28}{'logistic (Leadflow)':>20}{'naive Bayes (Odoo)':>20}",
        f"{'ROC AUC':28}{model['auc']:>20.4f}{baseline['auc']:>20.4f}",
        f"{'precision, top decile':28}{model['top_decile']['precision']:>20.4f}"
        f"{baseline['top_decile']['precision']:>20.4f}",
        f"{'recall, top decile':28}{model['top_decile']['recall']:>20.4f}"
        f"{baseline['top_decile']['recall']:>20.4f}",
        f"{'Brier score':28}{model['brier']:>20.4f}{baseline['brier']:>20.4f}",
        f"{'log-loss':28}{model['log_loss']:>20.4f}{baseline['log_loss']:>20.4f}",
        f"{'expected calibration error':28}{model['expected_calibration_error']:>20.4f}"
        f"{baseline['expected_calibration_error']:>20.4f}",
        f"regularization {metrics['regularization']:g} (time-split AUC per value: "
        f"{', '.join(f'{k}: {v:.4f}' for k, v in metrics['regularization_tried'].items()) or 'given'})",
        f"features {metrics['features']}, model JSON {size:,} bytes, "
        f"training (choice, evaluation fit, baseline, final fit) {seconds:.1f} s",
    ]
    served = parse_predictive("x-education", 1, {"type": "predictive", "parameters": trained.parameters})
    started = time.perf_counter()
    for e in examples:
        served.score_observed(e.seen, e.created_at)
    per_second = len(examples) / (time.perf_counter() - started)
    lines.append(f"serving: {per_second:,.0f} scores/s with factors (one core, pure Python)")
    difference = paired_bootstrap(trained.evaluation)
    lines.append(
        f"AUC difference (logistic - naive Bayes) {difference['difference']:+.4f}, 95% paired bootstrap "
        f"interval [{difference['low']:+.4f}, {difference['high']:+.4f}] ({difference['resamples']} draws)"
    )
    print("\n".join(lines))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "csv": str(args.csv),
        "shuffled_labels": args.shuffle_labels,
        "last_activity": args.with_last_activity,
        "training_seconds": round(seconds, 2),
        "auc_difference": difference,
        "model_json_bytes": size,
        "scores_per_second": round(per_second),
        "metrics": metrics,
        "parameters": trained.parameters,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
