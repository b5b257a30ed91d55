"""Settings read from the environment: the only module that reads ``os.environ``.

Table and queue names arrive as environment variables that the cloud template (``infra/template.json``,
``Globals.Function.Environment``) fills with ``Ref``s and that the local stack fills from the same file.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    stage: str = Field("dev", alias="LEADFLOW_STAGE")
    region: str = Field("us-east-1", alias="AWS_DEFAULT_REGION")
    aws_endpoint_url: str | None = Field(None, alias="AWS_ENDPOINT_URL")

    contacts_table: str = Field("leadflow-contacts", alias="CONTACTS_TABLE")
    accounts_table: str = Field("leadflow-accounts", alias="ACCOUNTS_TABLE")
    leads_table: str = Field("leadflow-leads", alias="LEADS_TABLE")
    interactions_table: str = Field("leadflow-interactions", alias="INTERACTIONS_TABLE")
    keys_table: str = Field("leadflow-keys", alias="KEYS_TABLE")
    forms_table: str = Field("leadflow-forms", alias="FORMS_TABLE")
    api_keys_table: str = Field("leadflow-api-keys", alias="API_KEYS_TABLE")
    quarantine_table: str = Field("leadflow-quarantine", alias="QUARANTINE_TABLE")
    idempotency_table: str = Field("leadflow-idempotency", alias="IDEMPOTENCY_TABLE")
    scoring_models_table: str = Field("leadflow-scoring-models", alias="SCORING_MODELS_TABLE")
    scores_table: str = Field("leadflow-scores", alias="SCORES_TABLE")
    jobs_table: str = Field("leadflow-jobs", alias="JOBS_TABLE")
    rules_table: str = Field("leadflow-rules", alias="RULES_TABLE")
    handoffs_table: str = Field("leadflow-handoffs", alias="HANDOFFS_TABLE")
    lead_history_table: str = Field("leadflow-lead-history", alias="LEAD_HISTORY_TABLE")
    opportunities_table: str = Field("leadflow-opportunities", alias="OPPORTUNITIES_TABLE")
    integrations_table: str = Field("leadflow-integrations", alias="INTEGRATIONS_TABLE")
    imports_table: str = Field("leadflow-imports", alias="IMPORTS_TABLE")
    identity_table: str = Field("leadflow-identity", alias="IDENTITY_TABLE")
    #: Whether the contacts table has its ``by_dup_phone`` index (the template's ``DuplicatePhoneIndex``:
    #: false only between the two updates that bring a stage from before issue 19 its two indexes).
    duplicate_phone_index: bool = Field(True, alias="DUPLICATE_PHONE_INDEX")
    #: E-mail templates, messages and suppressed addresses (issue 18).
    mail_table: str = Field("leadflow-mail", alias="MAIL_TABLE")
    #: Users, teams, assignment rules, team turns and rep loads (``store/people.py``).
    people_table: str = Field("leadflow-people", alias="PEOPLE_TABLE")
    #: Each lead's assignments, with their SLA timers (``store/assignment.py``).
    assignments_table: str = Field("leadflow-assignments", alias="ASSIGNMENTS_TABLE")
    #: Journeys (issue 18): definitions, enrollments with their timers, the report's counters.
    journeys_table: str = Field("leadflow-journeys", alias="JOURNEYS_TABLE")
    imports_bucket: str = Field("leadflow-imports", alias="IMPORTS_BUCKET")
    import_queue_url: str = Field("", alias="IMPORT_QUEUE_URL")
    linkedin_queue_url: str = Field("", alias="LINKEDIN_QUEUE_URL")
    handoff_queue_url: str = Field("", alias="HANDOFF_QUEUE_URL")
    #: Enrollments due for their next step (the sweep, an enrollment, a click put them there).
    journey_queue_url: str = Field("", alias="JOURNEY_QUEUE_URL")
    #: The hand-off dead-letter queue (the console lists and redrives it).
    handoff_dlq_url: str = Field("", alias="HANDOFF_DLQ_URL")
    tracking_queue_url: str = Field("", alias="TRACKING_QUEUE_URL")
    #: The tracking dead-letter queue (an erasure removes what names the person from it).
    tracking_dlq_url: str = Field("", alias="TRACKING_DLQ_URL")
    #: Erasure jobs (``DELETE /v1/contacts/{id}``), run by ``erase_contacts``.
    erasure_queue_url: str = Field("", alias="ERASURE_QUEUE_URL")
    #: An erasure runs a second, settling pass this long after the first (for writes that were in
    #: flight when it began: a score, a hand-off sent from a stream record read before).
    erasure_settle_seconds: int = Field(60, ge=0, le=900, alias="ERASURE_SETTLE_SECONDS")
    rescore_queue_url: str = Field("", alias="RESCORE_QUEUE_URL")
    #: Each stream consumer's retry queue (see chalicelib/handlers/dispatch.py).
    note_activity_retry_queue_url: str = Field("", alias="NOTE_ACTIVITY_RETRY_QUEUE_URL")
    score_changes_retry_queue_url: str = Field("", alias="SCORE_CHANGES_RETRY_QUEUE_URL")
    run_triggers_retry_queue_url: str = Field("", alias="RUN_TRIGGERS_RETRY_QUEUE_URL")
    qualify_retry_queue_url: str = Field("", alias="QUALIFY_RETRY_QUEUE_URL")
    detect_duplicates_retry_queue_url: str = Field("", alias="DETECT_DUPLICATES_RETRY_QUEUE_URL")
    #: Predictive training runs (their own function: 1,769 MB and up to 15 minutes).
    training_queue_url: str = Field("", alias="TRAINING_QUEUE_URL")

    #: Sign-in (issue 17): the Cognito user pool and its console app client (no secret), the pool's
    #: signing keys (JWKS; moto serves them at ``<endpoint>/<pool>/.well-known/jwks.json``) and the
    #: Cognito endpoint the console signs in at (empty: ``https://cognito-idp.<region>.amazonaws.com/``).
    cognito_user_pool_id: str = Field("", alias="COGNITO_USER_POOL_ID")
    cognito_client_id: str = Field("", alias="COGNITO_CLIENT_ID")
    cognito_jwks_url: str = Field("", alias="COGNITO_JWKS_URL")
    cognito_endpoint: str = Field("", alias="COGNITO_ENDPOINT")

    @property
    def cognito_issuer(self) -> str:
        """The ``iss`` of the pool's tokens (moto's tokens name the AWS issuer too)."""
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.cognito_user_pool_id}"

    @property
    def cognito_url(self) -> str:
        return self.cognito_endpoint or f"https://cognito-idp.{self.region}.amazonaws.com/"

    #: Replays of the same ``Idempotency-Key`` (or the same form payload) within this many seconds get
    #: the first answer back.
    idempotency_ttl_seconds: int = Field(3600, alias="IDEMPOTENCY_TTL_SECONDS")
    #: Interactions are kept this long (DynamoDB TTL), then expire.
    interaction_retention_days: int = Field(730, alias="INTERACTION_RETENTION_DAYS")
    #: How many times a capture retries after losing a race on the same contact.
    capture_max_attempts: int = Field(40, alias="CAPTURE_MAX_ATTEMPTS")
    #: Active scoring models are re-read at most this often per container.
    models_cache_seconds: float = Field(15.0, alias="MODELS_CACHE_SECONDS")
    #: Parallel scan segments of a rescoring job, and leads per page.
    rescore_segments: int = Field(4, alias="RESCORE_SEGMENTS")
    rescore_page_size: int = Field(100, alias="RESCORE_PAGE_SIZE")
    #: ``simulate`` evaluates at most this many leads (the answer says when it stopped early).
    simulate_max_leads: int = Field(2000, alias="SIMULATE_MAX_LEADS")

    #: The stage's Secrets Manager secret (JSON) holding the provider secrets below; empty: they come
    #: from the environment. Re-read at most every ``SECRETS_CACHE_SECONDS`` (see chalicelib/secrets.py).
    secrets_arn: str = Field("", alias="SECRETS_ARN")
    secrets_cache_seconds: int = Field(300, ge=0, alias="SECRETS_CACHE_SECONDS")
    #: LinkedIn Lead Sync: the app's client secret (signs challenges and notifications), the OAuth
    #: token that reads form responses, and the API's address and version. In AWS, fill them from
    #: Secrets Manager (see README, "LinkedIn Lead Sync").
    linkedin_client_secret: str = Field("", alias="LINKEDIN_CLIENT_SECRET", repr=False)
    linkedin_access_token: str = Field("", alias="LINKEDIN_ACCESS_TOKEN", repr=False)
    linkedin_api_url: str = Field("https://api.linkedin.com/rest", alias="LINKEDIN_API_URL")
    linkedin_api_version: str = Field("202509", alias="LINKEDIN_API_VERSION")
    linkedin_timeout_seconds: float = Field(3.0, alias="LINKEDIN_TIMEOUT_SECONDS")

    #: Imports: the largest CSV body ``POST /v1/imports`` takes (larger files go to S3 by an upload
    #: URL; 4 MiB is 5.6 MB once API Gateway base64-encodes it, within Lambda's 6 MB event), rows per
    #: work message, and how long an import's progress is kept.
    import_max_body_bytes: int = Field(4 * 1024 * 1024, alias="IMPORT_MAX_BODY_BYTES")
    import_chunk_rows: int = Field(100, alias="IMPORT_CHUNK_ROWS")
    import_retention_days: int = Field(30, alias="IMPORT_RETENTION_DAYS")

    # predictive scoring
    #: Training reads at most this many of the newest leads of each outcome (qualified, disqualified).
    predictive_max_examples: int = Field(5000, alias="PREDICTIVE_MAX_EXAMPLES")

    # abuse protection on public routes (see chalicelib/api/abuse.py); a rate of 0 turns a limit off
    rate_limits_table: str = Field("leadflow-rate-limits", alias="RATE_LIMITS_TABLE")
    #: Form submissions per minute (and burst) from one source IP, and to one form from everyone.
    rate_limit_ip_per_minute: int = Field(60, ge=0, alias="RATE_LIMIT_IP_PER_MINUTE")
    rate_limit_ip_burst: int = Field(30, ge=1, alias="RATE_LIMIT_IP_BURST")
    rate_limit_form_per_minute: int = Field(1200, ge=0, alias="RATE_LIMIT_FORM_PER_MINUTE")
    rate_limit_form_burst: int = Field(300, ge=1, alias="RATE_LIMIT_FORM_BURST")
    #: Webhook deliveries per minute (and burst) per source IP.
    rate_limit_webhook_per_minute: int = Field(600, ge=0, alias="RATE_LIMIT_WEBHOOK_PER_MINUTE")
    rate_limit_webhook_burst: int = Field(200, ge=1, alias="RATE_LIMIT_WEBHOOK_BURST")
    #: CAPTCHA secrets by name (a form's ``captcha.secret_ref``, else its provider), as JSON:
    #: ``{"turnstile": "0x4AAA..."}``. In AWS, fill from Secrets Manager.
    captcha_secrets: dict[str, str] = Field(default_factory=dict, alias="CAPTCHA_SECRETS", repr=False)
    turnstile_verify_url: str = Field(
        "https://challenges.cloudflare.com/turnstile/v0/siteverify", alias="TURNSTILE_VERIFY_URL"
    )
    recaptcha_verify_url: str = Field(
        "https://www.google.com/recaptcha/api/siteverify", alias="RECAPTCHA_VERIFY_URL"
    )
    captcha_timeout_seconds: float = Field(3.0, alias="CAPTCHA_TIMEOUT_SECONDS")

    #: The deployment's key (signs cursors, peppers erasure tombstones); in AWS from Secrets Manager.
    #: Unset: a random key is created once in the identity table (``chalicelib/store/secrets.py``).
    leadflow_secret: str = Field("", alias="LEADFLOW_SECRET", repr=False)

    # e-mail (issue 18, docs/email.md)
    #: The default sender (a template's ``from`` overrides it); its domain must be an SES identity.
    mail_from: str = Field("leadflow@example.com", alias="MAIL_FROM")
    #: The SES configuration set every e-mail is sent with (its event destination reports bounces).
    ses_configuration_set: str = Field("leadflow", alias="SES_CONFIGURATION_SET")
    #: The API's public address as people's mail clients reach it (tracked links, pixel, unsubscribe),
    #: e.g. ``https://abc.execute-api.eu-west-1.amazonaws.com/api``.
    public_base_url: str = Field("http://localhost:8000", alias="PUBLIC_BASE_URL")
    #: An open or click this many seconds or fewer after the e-mail was sent is a mail scanner's or a
    #: prefetcher's (Microsoft Defender Safe Links, Mimecast, Apple Mail Privacy Protection fetch at
    #: delivery), not the person's: recorded as ``email_scanned``, neither scored nor a journey's
    #: engagement (``services/tracking.py``). 0: every open and click is the person's. The local stack
    #: and the tests set 0, so a demo's click right after its send counts.
    mail_scan_seconds: int = Field(10, ge=0, le=3600, alias="MAIL_SCAN_SECONDS")
    #: At most this many marketing e-mails to one person in 24 hours (transactional ones not counted).
    mail_cap_per_day: int = Field(3, ge=1, alias="MAIL_CAP_PER_DAY")
    #: Signs tracking tokens; in AWS from Secrets Manager. Unset: derived from the deployment key.
    tracking_signing_key: str = Field("", alias="TRACKING_SIGNING_KEY", repr=False)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
