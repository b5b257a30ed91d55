"""The base of every request model, and pydantic's errors mapped to the API's field errors.

Request models forbid unknown keys (``extra="forbid"``); what they say about an unknown key (``{name}
is not a filter of this list``, ...) is the model's ``unknown_message``, so the 422 names the key with
the same words as before the models existed. Checks that need their own words raise
:func:`invalid` (a ``PydanticCustomError``), whose message is the field error's message as is.
Models build on first use (``defer_build``): the cold start does not pay for routes it does not serve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from chalicelib.domain.errors import FieldError, ValidationFailed

M = TypeVar("M", bound="RequestModel")


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True, frozen=True)

    #: What the 422 says about a key the model does not know (``{name}``: the key).
    unknown_message: ClassVar[str] = "{name} is not a known property"
    #: The field error's code for such a key.
    unknown_code: ClassVar[str] = "invalid"
    #: Name every unknown key (``True``) or only the first one, alphabetically.
    all_unknown: ClassVar[bool] = True
    #: The field such an error names, when not the unknown key itself.
    unknown_field: ClassVar[str | None] = None


class ResponseModel(BaseModel):
    """An answer's shape (documented; the routes build the JSON from the service's result)."""

    model_config = ConfigDict(defer_build=True)


def invalid(message: str, field: str | None = None) -> PydanticCustomError:
    """A check's own words, kept as the field error's message (``field``: the field it names, for a
    check of the whole model)."""
    return PydanticCustomError("invalid", message, {"field": field} if field else None)


def parse(model: type[M], data: Mapping[str, Any]) -> M:
    """``data`` as ``model``, or :class:`ValidationFailed` (422) naming each offending field."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise ValidationFailed(field_errors(model, exc)) from None


def field_errors(model: type[RequestModel], exc: ValidationError) -> list[FieldError]:
    """Unknown keys first (alone, as the hand-written checks reported them), then every other error."""
    errors = exc.errors(include_url=False)
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        named = unknown if model.all_unknown else unknown[:1]
        return [
            FieldError(model.unknown_field or n, model.unknown_message.format(name=n), model.unknown_code)
            for n in named
        ]
    found = []
    for error in errors:
        context = error.get("ctx") or {}
        name = str(context.get("field") or ".".join(str(part) for part in error["loc"]) or "body")
        message = error["msg"] if error["type"] == "invalid" else f"{name}: {error['msg']}"
        found.append(FieldError(name, message, "required" if error["type"] == "missing" else "invalid"))
    return found
