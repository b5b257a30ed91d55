"""The imports bucket: CSV files posted to the API or uploaded by a pre-signed URL."""

from __future__ import annotations

from typing import Any


class ObjectStore:
    """One bucket; the client is built on first use."""

    def __init__(self, bucket: str, region: str, endpoint_url: str | None, config: Any) -> None:
        self.bucket = bucket
        self._region = region
        self._endpoint_url = endpoint_url
        self._config = config
        self._client: Any = None

    def _s3(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # Signature Version 4 for pre-signed URLs (S3 refuses version 2 in every newer region)
            config = Config(signature_version="s3v4")
            self._client = boto3.session.Session().client(
                "s3",
                region_name=self._region,
                endpoint_url=self._endpoint_url,
                config=self._config.merge(config) if self._config is not None else config,
            )
        return self._client

    def put(self, key: str, data: bytes, content_type: str = "text/csv") -> None:
        self._s3().put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str, max_bytes: int) -> bytes:
        """The object's bytes; larger than ``max_bytes`` raises ``ValueError`` before reading it."""
        response = self._s3().get_object(Bucket=self.bucket, Key=key)
        if int(response.get("ContentLength") or 0) > max_bytes:
            response["Body"].close()
            raise ValueError(f"the file is larger than {max_bytes} bytes")
        return bytes(response["Body"].read())

    def keys(self, prefix: str) -> list[str]:
        """Every object key under ``prefix`` (an erasure looks through the kept import files)."""
        found: list[str] = []
        for page in self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found += [item["Key"] for item in page.get("Contents", [])]
        return found

    def upload_url(self, key: str, expires_seconds: int) -> str:
        """A pre-signed ``PUT`` for the client to send a large file straight to the bucket."""
        return str(
            self._s3().generate_presigned_url(
                "put_object",
                Params={"Bucket": self.bucket, "Key": key, "ContentType": "text/csv"},
                ExpiresIn=expires_seconds,
            )
        )
