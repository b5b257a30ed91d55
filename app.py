"""Leadflow's Chalice app: blueprints and event sources, nothing else.

Stream and queue ARNs here are placeholders: ``infra/template.json`` replaces them with the real
resources (``!GetAtt``) when ``chalice package --merge-template`` builds the template, and adds the
settings Chalice cannot express (partial batch failures, retries, bisect, failure destination)."""

from __future__ import annotations

from typing import Any

from chalice import Chalice, Rate

from chalicelib.api import (
    capture,
    health,
    identity,
    imports,
    leads,
    models,
    opportunities,
    people,
    sales,
    signin,
    webhooks,
)
from chalicelib.api import journeys as journeys_api
from chalicelib.api import mail as mail_api
from chalicelib.api import predictive as predictive_api
from chalicelib.api import working as working_api

app = Chalice(app_name="leadflow")
# CSV bodies (POST /v1/imports) pass API Gateway as binary: as text it would re-encode a Latin-1 or
# UTF-16 export as UTF-8. Binary bodies reach Lambda base64-encoded (4/3 of the file), which is why
# IMPORT_MAX_BODY_BYTES is 4 MiB: the event stays within Lambda's 6 MB (tests/unit/test_import_body_limit.py)
app.api.binary_types.extend(["text/csv", "application/csv"])
# The open pixel's GIF: API Gateway returns a binary answer as bytes only when the request's FIRST Accept
# type is a binary media type, and mail clients' image fetches start with whatever image type they prefer
# (image/avif, image/webp, image/*). No route takes an image body, so no request is changed by it.
app.api.binary_types.append("image/*")
app.register_blueprint(health.bp)
app.register_blueprint(capture.bp)
app.register_blueprint(leads.bp)
app.register_blueprint(models.bp)
app.register_blueprint(sales.bp)
app.register_blueprint(opportunities.bp)
app.register_blueprint(people.bp)
app.register_blueprint(working_api.bp)
app.register_blueprint(signin.bp)
app.register_blueprint(webhooks.bp)
app.register_blueprint(imports.bp)
app.register_blueprint(predictive_api.bp)
app.register_blueprint(identity.bp)
app.register_blueprint(mail_api.bp)
app.register_blueprint(journeys_api.bp)

# operator experience: the web console, capture.js and the reports they read
from chalicelib.api import console  # noqa: E402

app.register_blueprint(console.bp)


@app.middleware("all")
def observe(event: Any, get_response: Any) -> Any:
    """Powertools' Tracer, Logger context and Metrics (flushed, cold start counted) around every
    invocation (chalicelib/observability.py)."""
    from chalicelib.observability import observed

    return observed(event, get_response)


@app.middleware("http")
def serve(event: Any, get_response: Any) -> Any:
    """The one HTTP middleware: correlation id, path ids, errors as JSON, CORS (chalicelib/api/http.py)."""
    from chalicelib.api.http import serve as serve_request

    return serve_request(event, get_response)


PLACEHOLDER_STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/placeholder/stream/placeholder"
PLACEHOLDER_QUEUE = "arn:aws:sqs:us-east-1:000000000000:placeholder"


@app.on_sqs_message(queue_arn=PLACEHOLDER_QUEUE, batch_size=10, name="record_interactions")
def record_interactions(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import tracking

    return tracking.record_interactions(event.to_dict(), event.context)


@app.on_dynamodb_record(stream_arn=PLACEHOLDER_STREAM, batch_size=100, name="score_changes")
def score_changes(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import scoring

    return scoring.score_changes(event.to_dict(), event.context)


@app.on_sqs_message(queue_arn=PLACEHOLDER_QUEUE, batch_size=1, name="rescore")
def rescore(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import scoring

    return scoring.rescore(event.to_dict(), event.context)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="score_timers")
def score_timers(_event: Any) -> dict[str, Any]:
    from chalicelib.handlers import scoring

    return scoring.score_timers()


@app.on_dynamodb_record(stream_arn=PLACEHOLDER_STREAM, batch_size=100, name="qualify")
def qualify(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import qualification

    return qualification.qualify(event.to_dict(), event.context)


@app.on_dynamodb_record(stream_arn=PLACEHOLDER_STREAM, batch_size=10, name="publish_handoffs")
def publish_handoffs(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import qualification

    return qualification.publish_handoffs(event.to_dict(), event.context)


@app.schedule(Rate(5, unit=Rate.MINUTES), name="republish_handoffs")
def republish_handoffs(_event: Any) -> dict[str, Any]:
    from chalicelib.handlers import qualification

    return qualification.republish_handoffs()


@app.schedule(Rate(1, unit=Rate.MINUTES), name="sla_sweep")
def sla_sweep(_event: Any) -> dict[str, Any]:
    """Assignment SLAs: every timer due is reassigned or escalated once (services/assignment.py)."""
    from chalicelib.handlers import assignment

    return assignment.sla_sweep()


@app.lambda_function(name="import_uploaded")
def import_uploaded(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """S3 ``ObjectCreated`` on the imports bucket (wired by ``infra/template.json``: Chalice cannot
    package ``on_s3_event`` for CloudFormation, so the template adds the S3 event to this function)."""
    from chalicelib.handlers import integrations

    return integrations.import_uploaded(event, context)


@app.on_sqs_message(queue_arn=PLACEHOLDER_QUEUE, batch_size=1, name="import_rows")
def import_rows(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import integrations

    return integrations.import_rows(event.to_dict(), event.context)


# one notification per invocation: a slow LinkedIn (three attempts, 429 waits) fits the timeout
@app.on_sqs_message(queue_arn=PLACEHOLDER_QUEUE, batch_size=1, name="linkedin_leads")
def linkedin_leads(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import integrations

    return integrations.linkedin_leads(event.to_dict(), event.context)


# predictive scoring: the weekly retrain, published when it passes the gate (a rate, not a cron: the
# local stack's pump runs rates)
@app.schedule(Rate(7, unit=Rate.DAYS), name="retrain_predictive")
def retrain_predictive(_event: Any) -> dict[str, Any]:
    from chalicelib.handlers import predictive

    return predictive.retrain_weekly()


# identity and data rights: erasure jobs (DELETE /v1/contacts/{id} queues one; a second, settling pass
# follows it on the same queue)
@app.on_sqs_message(queue_arn=PLACEHOLDER_QUEUE, batch_size=1, name="erase_contacts")
def erase_contacts(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import identity

    return identity.erase_contacts(event.to_dict(), event.context)


# queued training runs (POST /v1/scoring-models/{id}/train): their own queue and function, with the
# memory and time training needs (the rescoring function has neither)
@app.on_sqs_message(queue_arn=PLACEHOLDER_QUEUE, batch_size=1, name="train_predictive")
def train_predictive(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import predictive

    return predictive.train_predictive(event.to_dict(), event.context)


# The interactions and contacts streams have three consumers each; AWS throttles a shard's third
# reader. One dispatcher per stream runs every consumer (note_activity, score_changes, run_triggers;
# score_changes, qualify, detect_duplicates), each consumer's failed records going to its own retry
# queue, which retry_stream_consumers reads (chalicelib/handlers/dispatch.py).
@app.on_dynamodb_record(stream_arn=PLACEHOLDER_STREAM, batch_size=100, name="interactions_stream")
def interactions_stream(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import dispatch

    return dispatch.dispatch("interactions", event.to_dict(), event.context)


@app.on_dynamodb_record(stream_arn=PLACEHOLDER_STREAM, batch_size=100, name="contacts_stream")
def contacts_stream(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import dispatch

    return dispatch.dispatch("contacts", event.to_dict(), event.context)


@app.on_sqs_message(queue_arn=PLACEHOLDER_QUEUE, batch_size=10, name="retry_stream_consumers")
def retry_stream_consumers(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import dispatch

    return dispatch.retry(event.to_dict(), event.context)


# e-mail (issue 18): SES configuration-set events through SNS to a queue (bounces and complaints
# suppress the address; Send/Delivery reconcile a message a crash left "sending")
@app.on_sqs_message(queue_arn=PLACEHOLDER_QUEUE, batch_size=10, name="mail_events")
def mail_events(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import mail

    return mail.mail_events(event.to_dict(), event.context)


# journeys (issue 18, docs/journeys.md): the minute sweep queues enrollments that are due; the worker
# moves each one step at a time, exactly once per step (conditional moves on the enrollment's seq)
@app.schedule(Rate(1, unit=Rate.MINUTES), name="journey_sweep")
def journey_sweep(_event: Any) -> dict[str, Any]:
    from chalicelib.handlers import journeys

    return journeys.journey_sweep()


@app.on_sqs_message(queue_arn=PLACEHOLDER_QUEUE, batch_size=10, name="journey_steps")
def journey_steps(event: Any) -> dict[str, Any]:
    from chalicelib.handlers import journeys

    return journeys.journey_steps(event.to_dict(), event.context)
