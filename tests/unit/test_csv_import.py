"""Reading CSV files and mapping their columns for an import (chalicelib/integrations/csv_import.py)."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.fields import MANAGED_FIELDS, parse_path
from chalicelib.domain.forms import capture_from_submission
from chalicelib.integrations.csv_import import (
    AUTO_HEADERS,
    MAX_ROW_CHARS,
    CsvRow,
    ImportMapping,
    ResolvedImport,
    chunks,
    column_errors,
    decode,
    parse_mapping,
    read_table,
    resolve,
    row_interaction,
    row_submission,
    sniff_dialect,
)

X_EDUCATION = Path("/work/shared/data/x-education-leads.csv")


def _rows(text: str, delimiter: str | None = None) -> list[CsvRow]:
    return list(read_table(text, delimiter).rows())


def _refused(headers: list[str], mapping: dict[str, Any]) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        resolve(headers, ImportMapping.model_validate(mapping))
    return caught.value


def _fields_named(failed: ValidationFailed) -> set[str]:
    return {error.field for error in failed.errors}


def _import(text: str, mapping: dict[str, Any] | None = None) -> tuple[ResolvedImport, list[CsvRow]]:
    table = read_table(text)
    return resolve(table.headers, ImportMapping.model_validate(mapping or {})), list(table.rows())


# ---------------------------------------------------------------- decoding


def test_utf8_with_bom_is_decoded_and_the_mark_dropped() -> None:
    text, encoding = decode(codecs.BOM_UTF8 + "Email,Name\na@x.com,Zoë\n".encode())
    assert encoding == "utf-8-sig"
    assert text.startswith("Email")
    assert read_table(text).headers == ["Email", "Name"]


def test_utf8_without_bom_is_decoded_as_utf8() -> None:
    assert decode("Email,Name\na@x.com,Łukasz\n".encode()) == ("Email,Name\na@x.com,Łukasz\n", "utf-8")


@pytest.mark.parametrize(("codec", "expected"), [("utf-16", "utf-16-le"), ("utf-16-be", "utf-16-be")])
def test_utf16_with_bom_is_decoded_and_the_mark_dropped(codec: str, expected: str) -> None:
    data = "Email,Name\na@x.com,Zoë\n".encode(codec)
    if codec == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    text, encoding = decode(data)
    assert (text, encoding) == ("Email,Name\na@x.com,Zoë\n", expected)


def test_utf16_without_bom_is_recognised_by_its_nul_bytes() -> None:
    assert decode("Email,Name\na@x.com,Zoë\n".encode("utf-16-le")) == (
        "Email,Name\na@x.com,Zoë\n",
        "utf-16-le",
    )


def test_latin1_accent_in_a_name_is_read_as_windows_1252() -> None:
    text, encoding = decode("Email,First Name\nr@x.com,Renée\n".encode("latin-1"))
    assert encoding == "cp1252"
    assert _rows(text)[0].values["First Name"] == "Renée"


def test_bytes_windows_1252_does_not_define_fall_back_to_latin1() -> None:
    assert decode(b"Name\n\x81\xe9\n") == ("Name\n\x81é\n", "latin-1")


# ---------------------------------------------------------------- delimiters


@pytest.mark.parametrize(
    ("sample", "delimiter"),
    [
        ("Email;First Name;Company\n", ";"),
        ("Email\tFirst Name\tCompany\n", "\t"),
        ("Email|First Name|Company\n", "|"),
        ("Email,First Name;Company,City\n", ","),
        ('"Company; Inc";Email,Name;City\n', ";"),  # the quoted ; does not count
        ("\n\nEmail;Name\n", ";"),  # blank lines before the header
        ("Email\n", ","),
        ("Email;Name,City\n", ","),  # a tie: the comma
    ],
)
def test_sniff_dialect_counts_delimiters_on_the_header_line_outside_quotes(
    sample: str, delimiter: str
) -> None:
    assert sniff_dialect(sample) == delimiter


def test_semicolon_separated_file_is_read() -> None:
    rows = _rows('Email;Company;Employees\na@x.com;"Acme; Ltd";1.200\n')
    assert rows[0].values == {"Email": "a@x.com", "Company": "Acme; Ltd", "Employees": "1.200"}


def test_tab_separated_file_is_read() -> None:
    table = read_table("Email\tFirst Name\na@x.com\tAda, the first\n")
    assert table.delimiter == "\t"
    assert [r.values for r in table.rows()] == [{"Email": "a@x.com", "First Name": "Ada, the first"}]


def test_an_unsupported_delimiter_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_table("a:b\n", delimiter=":")
    assert caught.value.field == "delimiter"


# ---------------------------------------------------------------- rows


def test_quoted_fields_keep_newlines_delimiters_and_doubled_quotes() -> None:
    text = 'Email,Notes\r\na@x.com,"line one\r\nline two, still ""quoted"""\r\nb@x.com,plain\r\n'
    rows = _rows(text)
    assert rows[0].values["Notes"] == 'line one\nline two, still "quoted"'
    assert [(r.number, r.line) for r in rows] == [(1, 2), (2, 4)]


def test_a_broken_row_in_the_middle_does_not_stop_the_rows_after_it() -> None:
    text = 'Email,Company\na@x.com,Acme\nb@x.com,"Bad "quote" Ltd\nc@x.com,"Good, Inc"\nd@x.com,Delta\n'
    rows = _rows(text)
    assert [(r.number, r.line, r.error is not None) for r in rows] == [
        (1, 2, False),
        (2, 3, True),
        (3, 4, False),
        (4, 5, False),
    ]
    assert "could not be read" in (rows[1].error or "")
    assert rows[1].values == {}
    assert rows[2].values == {"Email": "c@x.com", "Company": "Good, Inc"}


def test_an_unclosed_quote_reaching_the_end_of_the_file_only_breaks_its_row() -> None:
    rows = _rows('Email,Company\na@x.com,"Acme\nb@x.com,Beta\nc@x.com,Gamma')
    assert [r.error is None for r in rows] == [False, True, True]
    assert [r.values.get("Email") for r in rows[1:]] == ["b@x.com", "c@x.com"]


def test_a_row_with_nul_characters_is_an_error_and_reading_continues() -> None:
    rows = _rows("Email,Name\na@x.com,A\x00da\nb@x.com,Bob\n")
    assert rows[0].error is not None
    assert "NUL" in rows[0].error
    assert rows[1].values == {"Email": "b@x.com", "Name": "Bob"}


def test_a_short_row_gets_empty_values() -> None:
    assert _rows("Email,First Name,City\na@x.com\n")[0].values == {
        "Email": "a@x.com",
        "First Name": "",
        "City": "",
    }


def test_a_long_row_is_an_error_naming_both_counts() -> None:
    rows = _rows("Email,Name,City\na@x.com,Ada,Paris,extra\nb@x.com,Bob,Rome\n")
    assert rows[0].error == "row has 4 values, the header has 3"
    assert rows[1].error is None


def test_trailing_empty_cells_from_a_spreadsheet_are_not_extra_values() -> None:
    assert _rows("Email,Name\na@x.com,Ada,,\n")[0].values == {"Email": "a@x.com", "Name": "Ada"}


def test_blank_lines_are_skipped_but_keep_their_row_number() -> None:
    rows = _rows("Email\n\na@x.com\n,\nb@x.com\n\n")
    assert [(r.number, r.line, r.values["Email"]) for r in rows] == [(2, 3, "a@x.com"), (4, 5, "b@x.com")]


def test_rows_can_be_read_twice() -> None:
    table = read_table("Email\na@x.com\nb@x.com\n")
    assert list(table.rows()) == list(table.rows())


def test_a_row_longer_than_a_message_can_carry_is_an_error() -> None:
    rows = _rows(f"Email,Notes\na@x.com,{'x' * (MAX_ROW_CHARS + 1)}\nb@x.com,short\n")
    assert rows[0].error == f"row is longer than {MAX_ROW_CHARS} characters"
    assert rows[1].error is None


def test_fields_above_the_default_csv_limit_are_read_and_the_global_limit_is_restored() -> None:
    before = csv.field_size_limit()
    rows = _rows(f'Email,Notes\na@x.com,"{"y" * (before + 10)}"\nb@x.com,ok\n')
    assert rows[0].error == f"row is longer than {MAX_ROW_CHARS} characters"  # read, then refused
    assert rows[1].values["Notes"] == "ok"
    assert csv.field_size_limit() == before


# ---------------------------------------------------------------- headers


def test_a_header_with_a_quoted_newline_is_one_row_and_data_starts_after_it() -> None:
    table = read_table('Email,"Company\nName"\na@x.com,Acme\n')
    assert table.headers == ["Email", "Company Name"]
    assert [(r.number, r.line, r.values["Company Name"]) for r in table.rows()] == [(1, 3, "Acme")]


def test_duplicate_and_empty_headers_are_made_unique_and_stripped() -> None:
    table = read_table(" Email ,,email,Phone,  \na@x.com,1,b@x.com,2,3\n")
    assert table.headers == ["Email", "Column 2", "email (column 3)", "Phone", "Column 5"]
    assert next(table.rows()).values["email (column 3)"] == "b@x.com"


@pytest.mark.parametrize("text", ["", "\n\n", "\r\n ,  ,\r\n"])
def test_an_empty_file_is_refused_as_the_body(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_table(text)
    assert caught.value.field == "body"


def test_a_file_without_a_header_row_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_table("ada@example.com,Ada,Lovelace\nbob@example.com,Bob,Smith\n")
    assert caught.value.field == "body"
    assert "looks like data" in caught.value.message


# ---------------------------------------------------------------- automatic mapping


def test_dynamics_365_export_headers_map_to_standard_paths() -> None:
    header = (
        "(Do Not Modify) Lead,(Do Not Modify) Row Checksum,(Do Not Modify) Modified On,Topic,First Name,"
        "Last Name,Job Title,Business Phone,Mobile Phone,Email,Company Name,Website,Street 1,City,"
        "State/Province,ZIP/Postal Code,Country/Region,Industry,No. of Employees,Lead Source,Description,"
        "Status Reason,Created On\n"
    )
    resolved = resolve(read_table(header).headers, ImportMapping())
    assert resolved.mapped == {
        "Topic": "lead.topic",
        "First Name": "contact.first_name",
        "Last Name": "contact.last_name",
        "Job Title": "contact.job_title",
        "Business Phone": "contact.phone",
        "Mobile Phone": "contact.mobile_phone",
        "Email": "contact.email",
        "Company Name": "account.name",
        "Website": "account.domain",
        "Street 1": "contact.street",
        "City": "contact.city",
        "State/Province": "contact.state",
        "ZIP/Postal Code": "contact.postal_code",
        "Country/Region": "contact.country",
        "Industry": "account.industry",
        "No. of Employees": "account.employees",
        "Lead Source": "lead.origin_source",
        "Description": "lead.description",
    }
    assert resolved.unmapped == [
        "(Do Not Modify) Lead",
        "(Do Not Modify) Row Checksum",
        "(Do Not Modify) Modified On",
        "Status Reason",
        "Created On",
    ]


def test_salesforce_export_headers_map_to_standard_paths() -> None:
    header = (
        "Lead ID,Salutation,First Name,Last Name,Title,Company,Email,Phone,Mobile,Street,City,"
        "State/Province,Zip/Postal Code,Country,Website,Lead Source,Industry,Annual Revenue,"
        "No. of Employees,Lead Status,Rating,Lead Owner,Create Date\n"
    )
    resolved = resolve(read_table(header).headers, ImportMapping())
    assert {
        h: resolved.mapped[h] for h in ("Title", "Company", "Phone", "Mobile", "Lead Source", "Lead Status")
    } == {
        "Title": "contact.job_title",
        "Company": "account.name",
        "Phone": "contact.phone",
        "Mobile": "contact.mobile_phone",
        "Lead Source": "lead.origin_source",
        "Lead Status": "lead.origin_status",
    }
    assert resolved.mapped["Email"] == "contact.email"
    assert resolved.mapped["No. of Employees"] == "account.employees"
    assert resolved.mapped["Country"] == "contact.country"
    assert resolved.mapped["Website"] == "account.domain"
    assert resolved.unmapped == ["Lead ID", "Salutation", "Lead Owner", "Create Date"]


def test_salesforce_api_field_names_map_too() -> None:
    headers = ["FirstName", "LastName", "Email", "MobilePhone", "LeadSource", "NumberOfEmployees"]
    assert list(resolve(headers, ImportMapping()).mapped.values()) == [
        "contact.first_name",
        "contact.last_name",
        "contact.email",
        "contact.mobile_phone",
        "lead.origin_source",
        "account.employees",
    ]


def test_hubspot_export_headers_map_to_standard_paths() -> None:
    header = (
        "Record ID,First Name,Last Name,Email,Phone Number,Mobile Phone Number,Job Title,Company Name,"
        "Website URL,City,State/Region,Country/Region,Postal Code,Industry,Number of Employees,"
        "Original Source,Original Source Drill-Down 1,Lifecycle Stage,Lead Status,Contact owner,Create Date\n"
    )
    resolved = resolve(read_table(header).headers, ImportMapping())
    assert {
        h: resolved.mapped[h]
        for h in (
            "Phone Number",
            "Mobile Phone Number",
            "Website URL",
            "Original Source",
            "Number of Employees",
        )
    } == {
        "Phone Number": "contact.phone",
        "Mobile Phone Number": "contact.mobile_phone",
        "Website URL": "account.domain",
        "Original Source": "lead.origin_source",
        "Number of Employees": "account.employees",
    }
    assert resolved.mapped["Country/Region"] == "contact.country"
    assert resolved.mapped["Company Name"] == "account.name"
    assert resolved.unmapped == [
        "Record ID",
        "Original Source Drill-Down 1",
        "Lifecycle Stage",
        "Contact owner",
        "Create Date",
    ]


def test_auto_headers_only_target_valid_paths_an_import_may_set() -> None:
    for header, path in AUTO_HEADERS.items():
        parse_path(path)
        assert path not in MANAGED_FIELDS, header
        assert path != "lead.source", header


def test_a_second_phone_column_does_not_clash_with_the_first() -> None:
    resolved, rows = _import("Email,Phone,Mobile Phone\na@x.com,+44 20 7946 0958,+44 7911 123456\n")
    capture = capture_from_submission("import", resolved.form, row_submission(resolved, rows[0]))
    assert capture.contact["phone"] == "+442079460958"
    assert capture.contact["mobile_phone"] == "+447911123456"


def test_the_first_of_two_columns_recognised_as_the_same_field_wins() -> None:
    resolved = resolve(["Email", "E-mail Address", "Phone"], ImportMapping())
    assert resolved.mapped == {"Email": "contact.email", "Phone": "contact.phone"}
    assert resolved.unmapped == ["E-mail Address"]


# ---------------------------------------------------------------- explicit mapping


def test_without_a_column_for_contact_email_the_mapping_is_refused_naming_columns() -> None:
    failed = _refused(["First Name", "Company"], {})
    assert _fields_named(failed) == {"columns"}
    assert "contact.email" in failed.message


def test_explicit_mapping_overrides_auto_mapping() -> None:
    headers = ["Email", "Work Email", "Title", "Job"]
    resolved = resolve(
        headers,
        ImportMapping(
            columns={"work email": "contact.email", "Title": "lead.topic", "Job": "contact.job_title"}
        ),
    )
    assert resolved.mapped == {
        "Work Email": "contact.email",
        "Title": "lead.topic",
        "Job": "contact.job_title",
    }
    assert resolved.unmapped == ["Email"]  # contact.email is taken by the explicit column


def test_ignored_columns_are_not_imported_nor_reported_as_unmapped() -> None:
    resolved = resolve(
        ["Email", "City", "Secret"], ImportMapping(columns={"City": "ignore", "Secret": "ignore"})
    )
    assert resolved.mapped == {"Email": "contact.email"}
    assert resolved.ignored == ["City", "Secret"]
    assert resolved.unmapped == []
    assert set(resolved.column_of) == {"Email"}


def test_auto_false_maps_only_the_named_columns() -> None:
    resolved = resolve(["Email", "City"], ImportMapping(auto=False, columns={"Email": "contact.email"}))
    assert resolved.mapped == {"Email": "contact.email"}
    assert resolved.unmapped == ["City"]


def test_unmapped_custom_keeps_unrecognised_columns_as_contact_custom_fields() -> None:
    resolved, rows = _import(
        "Email,Favourite Colour,Société,2nd Choice,Phone\na@x.com,Teal,ACME,Red,\n",
        {"unmapped": "custom", "auto": False, "columns": {"Email": "contact.email"}},
    )
    assert resolved.mapped == {
        "Email": "contact.email",
        "Favourite Colour": "contact.favourite_colour",
        "Société": "contact.societe",
        "2nd Choice": "contact.col_2nd_choice",
        "Phone": "contact.phone_2",  # a custom field never takes a standard name
    }
    capture = capture_from_submission("import", resolved.form, row_submission(resolved, rows[0]))
    assert capture.contact == {
        "email": "a@x.com",
        "favourite_colour": "Teal",
        "societe": "ACME",
        "col_2nd_choice": "Red",
    }


def test_form_field_names_are_column_indexes_and_satisfy_the_form_rules() -> None:
    resolved = resolve(["Notes", "E-mail", "Last Name"], ImportMapping())
    assert resolved.column_of == {"E-mail": "c1", "Last Name": "c2"}
    assert resolved.header_of == {"c1": "E-mail", "c2": "Last Name"}
    assert resolved.form.fields["c1"].maps_to == "contact.email"


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("contact", "is not a target"),
        ("person.email", "is not a target"),
        ("contact.Bad Name", "is not a target"),
        ("lead.status", "managed by Leadflow"),
        ("lead.state", "managed by Leadflow"),
        ("lead.source", "lead.origin_source"),
        ({"maps_to": "consent"}, "needs a level"),
        ({"maps_to": "interaction.type", "type": "integer"}, "field targets"),
        ({"maps_to": "contact.email", "type": "integer"}, "only be email"),
    ],
)
def test_a_bad_target_is_refused_naming_its_column(target: Any, says: str) -> None:
    failed = _refused(["Email", "Status"], {"columns": {"Status": target}})
    assert _fields_named(failed) == {"columns.Status"}
    assert says in failed.message


def test_a_mapping_for_a_column_the_file_lacks_is_refused_naming_it() -> None:
    failed = _refused(["Email"], {"columns": {"Emial": "contact.email"}})
    assert "columns.Emial" in _fields_named(failed)
    assert "'Email'" in failed.errors[0].message  # the file's columns are listed


def test_a_column_named_twice_in_the_mapping_is_refused() -> None:
    failed = _refused(["Email", "City"], {"columns": {"City": "contact.city", "city": "ignore"}})
    assert _fields_named(failed) == {"columns.city"}


def test_an_empty_target_is_refused_when_the_mapping_is_read() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_mapping({"columns": {"Email": ""}})
    assert all(field.startswith("columns.Email") for field in _fields_named(caught.value))


def test_two_columns_mapped_to_the_same_path_are_refused_naming_the_second() -> None:
    failed = _refused(
        ["Email", "Home City", "Work City"],
        {"columns": {"Home City": "contact.city", "Work City": "contact.city"}},
    )
    assert _fields_named(failed) == {"columns.Work City"}
    assert "'Home City' already maps to contact.city" in failed.message


def test_several_consent_columns_may_grant_different_levels() -> None:
    resolved, rows = _import(
        "Email,Newsletter,Profiling\na@x.com,yes,no\n",
        {
            "columns": {
                "Newsletter": {"maps_to": "consent", "level": "marketing"},
                "Profiling": {"maps_to": "consent", "level": "profiling"},
            }
        },
    )
    capture = capture_from_submission("import", resolved.form, row_submission(resolved, rows[0]))
    assert capture.consent == "marketing"


def test_an_import_implies_no_consent_and_sets_source_topic_and_campaign_itself() -> None:
    resolved, rows = _import(
        "Email,Lead Source\na@x.com,Trade Show\n",
        {"topic": "Spring fair", "campaign": "fair-2026", "lead_matching": "new_lead_always"},
    )
    submitted = row_submission(resolved, rows[0])
    capture = capture_from_submission("import", resolved.form, submitted, origin="import:imp_1")
    assert capture.consent == "none"
    assert capture.origin == "import:imp_1"
    assert capture.lead == {
        "source": "import",
        "topic": "Spring fair",
        "campaign": "fair-2026",
        "origin_source": "Trade Show",
    }
    assert capture.lead_matching == "new_lead_always"


def test_the_mapping_is_validated_as_a_client_payload() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_mapping({"columns": {}, "unmapped": "keep", "colour": "red"})
    assert {"unmapped", "colour"} <= _fields_named(caught.value)


# ---------------------------------------------------------------- rows into captures and interactions


def test_row_errors_name_the_column_header_not_the_form_field() -> None:
    resolved, rows = _import("Email,No. of Employees\nnot-an-email,many\n")
    with pytest.raises(ValidationFailed) as caught:
        capture_from_submission("import", resolved.form, row_submission(resolved, rows[0]))
    named = column_errors(resolved, caught.value)
    assert {e.field for e in named.errors} == {"Email", "No. of Employees"}
    assert all(e.message.startswith(e.field) for e in named.errors)


def test_a_row_that_could_not_be_read_is_refused_as_a_row() -> None:
    resolved, rows = _import(
        "Email,Activity\na@x.com,Opened,extra\n", {"columns": {"Activity": "interaction.type"}}
    )
    for call in (row_submission, row_interaction):
        with pytest.raises(ValidationFailed) as caught:
            call(resolved, rows[0])
        assert caught.value.field == "row"


def test_interaction_type_values_become_slugs_with_their_time() -> None:
    resolved, rows = _import(
        "Email,Last Activity,When\n"
        "a@x.com,Email Opened,2026-11-20T09:30:00+01:00\n"
        "b@x.com,Page Visited on Website,2026-11-21 10:00\n"
        "c@x.com,Webinar Attended,\n"
        "d@x.com,,\n",
        {"columns": {"Last Activity": "interaction.type", "When": "interaction.occurred_at"}},
    )
    assert resolved.interaction_column == "Last Activity"
    assert resolved.occurred_at_column == "When"
    assert "Last Activity" not in resolved.column_of
    assert [row_interaction(resolved, row) for row in rows] == [
        ("email_opened", datetime(2026, 11, 20, 8, 30, tzinfo=UTC)),
        ("page_visited_on_website", datetime(2026, 11, 21, 10, 0, tzinfo=UTC)),  # no zone: UTC
        ("webinar_attended", None),
        None,
    ]


def test_a_bad_interaction_type_or_time_is_refused_naming_the_column() -> None:
    resolved, rows = _import(
        "Email,Activity,When\na@x.com,1st call,yesterday\n",
        {"columns": {"Activity": "interaction.type", "When": "interaction.occurred_at"}},
    )
    with pytest.raises(ValidationFailed) as caught:
        row_interaction(resolved, rows[0])
    assert _fields_named(caught.value) == {"Activity", "When"}


def test_a_required_interaction_column_refuses_an_empty_value() -> None:
    resolved, rows = _import(
        "Email,Activity\na@x.com,\n",
        {"columns": {"Activity": {"maps_to": "interaction.type", "required": True}}},
    )
    with pytest.raises(ValidationFailed) as caught:
        row_interaction(resolved, rows[0])
    assert caught.value.errors[0].code == "required"


def test_an_occurred_at_column_needs_an_interaction_type_column() -> None:
    failed = _refused(["Email", "When"], {"columns": {"When": "interaction.occurred_at"}})
    assert _fields_named(failed) == {"columns.When"}


def test_without_an_interaction_column_a_row_records_no_interaction() -> None:
    resolved, rows = _import("Email\na@x.com\n")
    assert row_interaction(resolved, rows[0]) is None


# ---------------------------------------------------------------- work messages


def test_chunks_respect_the_row_count_and_keep_order() -> None:
    assert [len(c) for c in chunks(range(250))] == [100, 100, 50]
    assert list(itertools.chain.from_iterable(chunks(range(250)))) == list(range(250))


def test_chunks_respect_the_byte_budget_and_an_oversized_item_travels_alone() -> None:
    sizes = [40, 40, 40, 500, 10]
    parts = list(chunks(sizes, max_rows=10, max_bytes=100, size=lambda n: n))
    assert parts == [[40, 40], [40], [500], [10]]


def test_chunks_measure_rows_as_json_by_default() -> None:
    rows = _rows("Email,Notes\n" + "".join(f"r{n}@x.com,{'z' * 900}\n" for n in range(30)))
    parts = list(chunks(rows, max_bytes=10_000))
    assert [len(p) for p in parts] == [10, 10, 10]


def test_chunks_refuse_an_empty_budget() -> None:
    with pytest.raises(ValueError, match="positive"):
        list(chunks([1], max_rows=0))


# ---------------------------------------------------------------- a real export


def _x_education_with_emails(rows: int) -> bytes:
    """The first ``rows`` leads of the sample file with an Email column an operator would add (the
    file has none, and contacts are matched by email)."""
    with X_EDUCATION.open(newline="", encoding="utf-8") as source:
        reader = csv.reader(source)
        out = io.StringIO()
        writer = csv.writer(out)
        header = next(reader)
        writer.writerow(["Email", *header])
        for record in itertools.islice(reader, rows):
            writer.writerow([f"lead-{record[0]}@x-education.example.com", *record])
    return out.getvalue().encode()


X_EDUCATION_MAPPING: dict[str, Any] = {
    "columns": {
        "Email": "contact.email",
        "Last Activity": "interaction.type",
        "TotalVisits": {"maps_to": "contact.total_visits", "type": "number"},
        "Total Time Spent on Website": {"maps_to": "contact.time_on_website", "type": "number"},
        "Page Views Per Visit": {"maps_to": "contact.page_views_per_visit", "type": "number"},
        "Country": "contact.country",
        "City": "contact.city",
        "Lead Source": "lead.origin_source",
        "Lead Origin": "lead.origin",
        "Do Not Email": {"maps_to": "contact.do_not_email", "type": "boolean"},
    },
    "auto": False,
    "topic": "Online courses",
}


@pytest.mark.skipif(not X_EDUCATION.exists(), reason="the shared sample data is not present")
def test_the_first_200_x_education_leads_each_become_a_valid_submission() -> None:
    text, encoding = decode(_x_education_with_emails(200))
    table = read_table(text)
    resolved = resolve(table.headers, parse_mapping(X_EDUCATION_MAPPING))
    assert encoding == "utf-8"
    assert "Converted" in resolved.unmapped  # an outcome column is not imported

    rows = list(table.rows())
    assert [row.number for row in rows] == list(range(1, 201))
    kinds: set[str] = set()
    for row in rows:
        assert row.error is None, row
        capture = capture_from_submission("import", resolved.form, row_submission(resolved, row))
        assert capture.email == f"lead-{row.values['Prospect ID']}@x-education.example.com"
        assert capture.lead["source"] == "import"
        assert capture.lead["origin"] == row.values["Lead Origin"]
        assert isinstance(capture.contact["do_not_email"], bool)
        assert isinstance(capture.contact.get("time_on_website", 0), int | float)
        interaction = row_interaction(resolved, row)
        if interaction is not None:
            kinds.add(interaction[0])
    assert {"email_opened", "page_visited_on_website", "olark_chat_conversation"} <= kinds
