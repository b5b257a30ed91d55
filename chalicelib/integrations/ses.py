"""Amazon SES (v2) ``SendEmail``: Simple content (subject, HTML and text parts), the RFC 8058
``List-Unsubscribe`` headers and the stage's configuration set (its event destination reports bounces
and complaints, docs/email.md).

SESv2 ``SendEmail`` takes no idempotency token, so this client never retries on its own (botocore's
retries are off): one claimed message is one call at most. A refusal SES answers (4xx) is
:class:`SendRejected` (nothing sent); anything else (a timeout, a 5xx) propagates and leaves the
message ``sending``, which a retry reports as ``unknown`` instead of sending again."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.email import Rendered, SendRejected


class SesMailer:
    def __init__(self, configuration_set: str, region: str, endpoint_url: str | None) -> None:
        self._configuration_set = configuration_set
        self._region = region
        self._endpoint_url = endpoint_url
        self._client: Any = None

    def _ses(self) -> Any:
        if self._client is None:  # built on first use, never at import
            import boto3
            from botocore.config import Config

            self._client = boto3.session.Session().client(
                "sesv2",
                region_name=self._region,
                endpoint_url=self._endpoint_url,
                config=Config(retries={"mode": "standard", "max_attempts": 1}),
            )
        return self._client

    def send(
        self, sender: str, to: str, rendered: Rendered, headers: dict[str, str], tags: dict[str, str]
    ) -> str:
        from botocore.exceptions import ClientError

        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [to]},
            "Content": {
                "Simple": {
                    "Subject": {"Data": rendered.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Html": {"Data": rendered.html, "Charset": "UTF-8"},
                        "Text": {"Data": rendered.text, "Charset": "UTF-8"},
                    },
                    "Headers": [{"Name": name, "Value": value} for name, value in headers.items()],
                }
            },
            "EmailTags": [{"Name": name, "Value": value} for name, value in tags.items()],
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            answer = self._ses().send_email(**request)
        except ClientError as error:
            status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500))
            if 400 <= status < 500 and status != 429:
                code = error.response.get("Error", {}).get("Code", "Rejected")
                raise SendRejected(f"SES refused the e-mail: {code}") from None
            raise
        return str(answer["MessageId"])
