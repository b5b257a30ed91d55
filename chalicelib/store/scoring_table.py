"""The scoring tables' shared helpers (conditional-failure check), for the scoring repositories."""

from __future__ import annotations


def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"
