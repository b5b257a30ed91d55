"""Field paths and the normalisation every stored value goes through (chalicelib/domain/fields.py)."""

from __future__ import annotations

import pytest

from chalicelib.domain.fields import (
    MAX_TEXT_LENGTH,
    InvalidValue,
    merge_fields,
    non_empty,
    normalise_email,
    normalise_phone,
    normalise_value,
    parse_path,
    same_text,
)

# ---------------------------------------------------------------- email


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("ada@example.org", "ada@example.org"),
        ("Ada.Lovelace@Analytical-Engines.co.uk", "ada.lovelace@analytical-engines.co.uk"),
        ("  GRACE@COBOL.Example.ORG  ", "grace@cobol.example.org"),
    ],
)
def test_valid_email_is_normalised_to_lower_case(raw, normalised):
    assert normalise_value(raw, "email") == normalised


def test_normalise_email_lower_cases_the_whole_address():
    assert normalise_email("Linus@Kernel.Example.NET") == "linus@kernel.example.net"


@pytest.mark.parametrize(
    "raw",
    ["not-an-email", "ada@", "@example.org", "ada lovelace@example.org", "ada@@example.org", "ada@example"],
)
def test_invalid_email_is_rejected(raw):
    with pytest.raises(InvalidValue, match="not a valid email"):
        normalise_value(raw, "email")


def test_email_check_does_not_need_dns():
    # a syntactically valid address at a domain that does not exist is accepted (no network lookup)
    assert normalise_value("someone@leadflow-unit-test.invalid-tld-zz", "email") == (
        "someone@leadflow-unit-test.invalid-tld-zz"
    )


# ---------------------------------------------------------------- phone


def test_international_phone_becomes_e164_without_a_region():
    assert normalise_value("+44 20 7946 0958", "phone") == "+442079460958"


@pytest.mark.parametrize("region", ["GB", "gb"])
def test_local_phone_becomes_e164_with_a_region(region):
    assert normalise_value("020 7946 0958", "phone", phone_region=region) == "+442079460958"


def test_normalise_phone_formats_e164():
    assert normalise_phone("(020) 7946-0958", "GB") == "+442079460958"


def test_local_phone_without_a_region_is_rejected():
    with pytest.raises(InvalidValue, match="country code"):
        normalise_value("020 7946 0958", "phone")


@pytest.mark.parametrize("raw", ["call me maybe", "12", "+44 20", "+1 555 0000 0000 0000 00"])
def test_garbage_phone_is_rejected(raw):
    with pytest.raises(InvalidValue):
        normalise_value(raw, "phone", phone_region="GB")


# ---------------------------------------------------------------- integer


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(42, 42), ("42", 42), (" -7 ", -7), ("+3", 3), ("1,200", 1200), (3.0, 3), (0, 0)],
)
def test_integer_accepts_whole_numbers_and_their_text(raw, expected):
    result = normalise_value(raw, "integer")
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("raw", [True, False])
def test_bool_is_not_an_integer(raw):
    with pytest.raises(InvalidValue, match="integer"):
        normalise_value(raw, "integer")


@pytest.mark.parametrize("raw", ["4.5", 4.5, "abc", "1e3", "12 000 apples", float("nan"), [1]])
def test_integer_rejects_fractions_and_text(raw):
    with pytest.raises(InvalidValue, match="integer"):
        normalise_value(raw, "integer")


# ---------------------------------------------------------------- number


@pytest.mark.parametrize(
    ("raw", "expected"), [("3.5", 3.5), (3.5, 3.5), ("10", 10), (2.0, 2), (-1, -1), (" 0.25 ", 0.25)]
)
def test_number_accepts_numbers_and_numeric_text(raw, expected):
    assert normalise_value(raw, "number") == expected


def test_whole_number_is_stored_as_an_integer():
    assert type(normalise_value("10.0", "number")) is int


@pytest.mark.parametrize("raw", [True, False])
def test_bool_is_not_a_number(raw):
    with pytest.raises(InvalidValue, match="number"):
        normalise_value(raw, "number")


@pytest.mark.parametrize(
    "raw", [float("nan"), float("inf"), float("-inf"), "nan", "inf", "-Infinity", "1e400"]
)
def test_nan_and_infinity_are_rejected(raw):
    with pytest.raises(InvalidValue, match="finite"):
        normalise_value(raw, "number")


@pytest.mark.parametrize("raw", ["abc", "12abc", "1.2.3"])
def test_non_numeric_text_is_not_a_number(raw):
    with pytest.raises(InvalidValue, match="must be a number"):
        normalise_value(raw, "number")


def test_huge_integer_number_is_rejected_as_invalid_not_crashing():
    # json.loads turns a 401-digit literal into an int; the API must answer 422, never 500
    with pytest.raises(InvalidValue):
        normalise_value(10**400, "number")


def test_large_integer_number_keeps_its_exact_value():
    assert normalise_value(2**53 + 1, "number") == 2**53 + 1


# ---------------------------------------------------------------- boolean


@pytest.mark.parametrize("raw", [True, "true", "TRUE", "1", "yes", "on", "Y", 1])
def test_truthy_words_are_true(raw):
    assert normalise_value(raw, "boolean") is True


@pytest.mark.parametrize("raw", [False, "false", "0", "no", "OFF", "n", 0])
def test_falsy_words_are_false(raw):
    assert normalise_value(raw, "boolean") is False


@pytest.mark.parametrize("raw", ["maybe", "2", 2, "tru"])
def test_other_values_are_not_booleans(raw):
    with pytest.raises(InvalidValue, match="true or false"):
        normalise_value(raw, "boolean")


# ---------------------------------------------------------------- date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2026-11-24", "2026-11-24"), (" 2026-11-24 ", "2026-11-24"), ("2026-11-24T10:00:00Z", "2026-11-24")],
)
def test_date_is_normalised_to_iso_day(raw, expected):
    assert normalise_value(raw, "date") == expected


@pytest.mark.parametrize("raw", ["24/11/2026", "2026-02-30", "tomorrow", "2026-13-01"])
def test_non_dates_are_rejected(raw):
    with pytest.raises(InvalidValue, match="date"):
        normalise_value(raw, "date")


@pytest.mark.parametrize("raw", ["2026-11-240", "2026-11-24 not a date"])
def test_date_with_trailing_garbage_is_rejected(raw):
    with pytest.raises(InvalidValue):
        normalise_value(raw, "date")


# ---------------------------------------------------------------- text and empties


def test_text_is_stripped():
    assert normalise_value("  Ada  ") == "Ada"


def test_numbers_given_for_a_text_field_become_text():
    assert normalise_value(42) == "42"


def test_text_at_the_length_limit_is_accepted():
    assert normalise_value("x" * MAX_TEXT_LENGTH) == "x" * MAX_TEXT_LENGTH


def test_text_over_the_length_limit_is_rejected():
    with pytest.raises(InvalidValue, match=f"longer than {MAX_TEXT_LENGTH}"):
        normalise_value("x" * (MAX_TEXT_LENGTH + 1))


def test_text_length_limit_counts_after_stripping():
    assert normalise_value("  abcde  ", max_length=5) == "abcde"


def test_custom_text_length_limit_applies():
    with pytest.raises(InvalidValue, match="longer than 5"):
        normalise_value("abcdef", max_length=5)


@pytest.mark.parametrize("raw", [True, ["a"], {"a": 1}, object()])
def test_non_scalar_or_bool_values_are_not_text(raw):
    with pytest.raises(InvalidValue, match="must be text"):
        normalise_value(raw)


@pytest.mark.parametrize("kind", ["string", "integer", "number", "boolean", "email", "phone", "date"])
@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_empty_value_normalises_to_none_for_every_type(kind, raw):
    assert normalise_value(raw, kind) is None


# ---------------------------------------------------------------- merging


def test_blank_field_never_overwrites_stored_value():
    stored = {"first_name": "Ada", "job_title": "Head of Engineering"}
    assert merge_fields(stored, {"first_name": "", "job_title": None}) == stored


def test_newer_non_empty_value_wins():
    merged = merge_fields({"job_title": "Head of Engineering"}, {"job_title": "VP Engineering"})
    assert merged == {"job_title": "VP Engineering"}


def test_merge_adds_new_fields_and_keeps_the_rest():
    merged = merge_fields({"first_name": "Ada"}, {"city": "London"})
    assert merged == {"first_name": "Ada", "city": "London"}


def test_merge_does_not_change_its_inputs():
    stored = {"first_name": "Ada"}
    incoming = {"first_name": "Augusta", "city": ""}
    merge_fields(stored, incoming)
    assert stored == {"first_name": "Ada"}
    assert incoming == {"first_name": "Augusta", "city": ""}


def test_zero_and_false_are_values_not_blanks():
    assert non_empty({"employees": 0, "vip": False, "city": "", "phone": None}) == {
        "employees": 0,
        "vip": False,
    }


@pytest.mark.parametrize(
    ("a", "b"),
    [("Pricing", "pricing"), ("  Pricing ", "PRICING"), (None, ""), (None, None), ("Straße", "STRASSE")],
)
def test_same_text_ignores_case_and_surrounding_spaces(a, b):
    assert same_text(a, b)


@pytest.mark.parametrize(("a", "b"), [("Pricing", "Support"), ("Pricing", None), ("pri cing", "pricing")])
def test_same_text_tells_different_texts_apart(a, b):
    assert not same_text(a, b)


# ---------------------------------------------------------------- paths


@pytest.mark.parametrize(
    ("path", "parsed"),
    [
        ("contact.email", ("contact", "email")),
        ("account.name", ("account", "name")),
        ("lead.topic", ("lead", "topic")),
        ("contact.favourite_colour", ("contact", "favourite_colour")),
    ],
)
def test_parse_path_splits_entity_and_name(path, parsed):
    assert parse_path(path) == parsed


@pytest.mark.parametrize(
    "path",
    [
        "foo.bar",
        "contact.Bad Name",
        "contact.Email",
        "contact",
        "contact.",
        ".email",
        "contact.email.domain",
        "contact.1st",
        "Contact.email",
        "contact." + "x" * 65,
    ],
)
def test_parse_path_rejects_anything_but_entity_dot_snake_name(path):
    with pytest.raises(InvalidValue, match="not a field path"):
        parse_path(path)


def test_parse_path_rejects_a_trailing_newline():
    with pytest.raises(InvalidValue):
        parse_path("contact.email\n")


def test_numbers_beyond_dynamodb_precision_are_refused():
    with pytest.raises(InvalidValue, match="too large"):
        normalise_value(10**38, "integer")
    with pytest.raises(InvalidValue, match="too large"):
        normalise_value("1e200", "number")


@pytest.mark.parametrize(("raw", "expected"), [("1,234", 1234), ("12,345,678", 12345678)])
def test_thousands_separators_are_read_in_integers(raw, expected):
    assert normalise_value(raw, "integer") == expected


def test_misplaced_commas_are_not_an_integer():
    with pytest.raises(InvalidValue):
        normalise_value("1,2,3", "integer")
