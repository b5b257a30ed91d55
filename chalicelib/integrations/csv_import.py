"""Reading CSV files for an import, and mapping their columns onto field paths.

Pure: the standard library and pydantic, no I/O. An import's column mapping becomes a
:class:`FormDefinition`, so every row passes through exactly the same validation and normalisation as a
form submission (:func:`capture_from_submission`); this module only decodes, splits and maps.

A broken row never stops the others: a row the ``csv`` module cannot read, one with more values than
the header, NUL characters or an oversized row is reported with its number and physical line, and
reading goes on with the rows after it.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.domain.capture import DEFAULT_LEAD_MATCHING
from chalicelib.domain.consent import ConsentLevel
from chalicelib.domain.errors import FieldError, ValidationFailed
from chalicelib.domain.fields import (
    MANAGED_FIELDS,
    RESERVED_FIELDS,
    STANDARD_FIELDS,
    FieldType,
    InvalidValue,
    parse_path,
)
from chalicelib.domain.forms import FormDefinition, FormField, LeadMatchingField, form_validation_errors
from chalicelib.domain.interactions import parse_time

T = TypeVar("T")

DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
#: One field may hold a long description; a runaway quote stops here instead of eating the file.
MAX_FIELD_CHARS = 1_000_000
#: A row must fit an SQS work message even when every character is JSON-escaped (6 bytes each).
MAX_ROW_CHARS = 30_000
#: FormDefinition takes at most this many fields.
MAX_MAPPED_COLUMNS = 100
_SNIFF_CHARS = 65_536
_UTF16_SAMPLE = 4096

# ---------------------------------------------------------------- bytes -> text

#: UTF-32 before UTF-16: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def decode(data: bytes) -> tuple[str, str]:
    """``(text, encoding)``: a byte-order mark decides (and is dropped); then UTF-16 without a mark
    (recognised by its NUL bytes), UTF-8, Windows-1252, and Latin-1, which decodes anything.

    Newlines are left as they are: the reader splits rows itself and keeps those inside quotes.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            # the mark is a strong signal; a damaged character only spoils the row it is in
            return data[len(bom) :].decode(encoding, errors="replace"), encoding
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """Mostly-ASCII UTF-16 has a NUL in every other byte; UTF-8 would read those as NUL characters."""
    sample = data[:_UTF16_SAMPLE]
    half = len(sample) // 2
    if half < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    encoding = (
        "utf-16-le" if odd >= half / 2 and not even else "utf-16-be" if even >= half / 2 and not odd else ""
    )
    if not encoding or len(data) % 2:
        return None
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError:
        return None


def sniff_dialect(sample: str) -> str:
    """The delimiter of the header line: the most frequent of ``, ; TAB |`` outside quotes; ``,`` on
    a tie or when there is none."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = started = False
    for char in sample:
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "\r\n":
            if started:
                break
            continue  # blank lines before the header
        elif char in counts:
            counts[char] += 1
        started = True
    best = max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equals: the comma
    return best if counts[best] else ","


# ---------------------------------------------------------------- text -> rows


@dataclass(frozen=True)
class CsvRow:
    """One data row: ``number`` counts records after the header (1-based, blank records included, so
    ``number + 1`` is the spreadsheet row); ``line`` is the physical line the row starts on."""

    number: int
    line: int
    values: dict[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class _Record:
    index: int  # 0-based index of the physical line the record starts on
    end: int  # index of the line after it
    values: list[str]
    error: str | None = None


@contextmanager
def _field_size_limit() -> Iterator[None]:
    """``csv.field_size_limit`` is process-wide: raise it only while this reader reads a record."""
    previous = csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _reader(lines: list[str], start: int, delimiter: str) -> Any:
    return csv.reader(
        (lines[i] for i in range(start, len(lines))),
        delimiter=delimiter,
        quotechar='"',
        doublequote=True,
        skipinitialspace=True,
        strict=True,  # a bad quote is an error on its row, not rows silently glued together
    )


def _records(lines: list[str], start: int, delimiter: str) -> Iterator[_Record]:
    """Records from line ``start`` on. After a record the csv module cannot read, reading starts again
    on the line after the one that record started on: a stray quote may have swallowed the next
    rows, and they are read again on their own."""
    while start < len(lines):
        reader = _reader(lines, start, delimiter)
        position = start
        while True:
            try:
                with _field_size_limit():
                    values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield _Record(
                    position, position + 1, [], f"the row could not be read ({exc}); check its quotes"
                )
                break
            end = start + reader.line_num
            yield _Record(position, end, values)
            position = end
        start = position + 1


def _blank(values: list[str]) -> bool:
    return not any(value.strip() for value in values)


class CsvTable:
    """A CSV file's header and rows; :meth:`rows` can be iterated more than once."""

    def __init__(self, headers: list[str], lines: list[str], data_start: int, delimiter: str) -> None:
        self.headers = headers
        self.delimiter = delimiter
        self._lines = lines
        self._data_start = data_start

    def rows(self) -> Iterator[CsvRow]:
        """Data rows in file order, blank ones skipped; a row with ``error`` set has no values."""
        number = 0
        for record in _records(self._lines, self._data_start, self.delimiter):
            number += 1
            if record.error is None and _blank(record.values):
                continue
            yield self._row(number, record)

    def _row(self, number: int, record: _Record) -> CsvRow:
        line = record.index + 1
        error = record.error or self._problem(record.values)
        if error:
            return CsvRow(number, line, error=error)
        cells = (record.values + [""] * len(self.headers))[: len(self.headers)]  # short rows: empty
        values = {
            header: cell.replace("\r\n", "\n") for header, cell in zip(self.headers, cells, strict=True)
        }
        return CsvRow(number, line, values)

    def _problem(self, values: list[str]) -> str | None:
        width = len(values)
        while width > len(self.headers) and not values[width - 1].strip():
            width -= 1  # spreadsheets pad rows with empty cells: those are not values
        if width > len(self.headers):
            return f"row has {width} values, the header has {len(self.headers)}"
        if any("\x00" in value for value in values):
            return "row contains NUL characters (is the file text?)"
        if sum(len(value) for value in values) > MAX_ROW_CHARS:
            return f"row is longer than {MAX_ROW_CHARS} characters"
        return None


def read_table(text: str, delimiter: str | None = None) -> CsvTable:
    """Split decoded text into a header and rows; raises :class:`ValidationFailed` (``body``) when the
    file is empty or its first row is not a header."""
    if delimiter is None:
        delimiter = sniff_dialect(text[:_SNIFF_CHARS])
    elif delimiter not in DELIMITERS:
        raise ValidationFailed(
            [FieldError("delimiter", "delimiter must be one of , ; | or a tab", "invalid")]
        )
    lines = io.StringIO(text, newline="").readlines()
    for record in _records(lines, 0, delimiter):
        if record.error is not None:
            raise ValidationFailed([FieldError("body", f"the header row could not be read: {record.error}")])
        if _blank(record.values):
            continue
        return CsvTable(_headers(record.values), lines, record.end, delimiter)
    raise ValidationFailed(
        [FieldError("body", "the file is empty: it needs a header row and rows", "required")]
    )


_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _headers(raw: list[str]) -> list[str]:
    names = [" ".join(value.split()) for value in raw]
    if any(_EMAIL_SHAPE.fullmatch(name) for name in names):
        raise ValidationFailed(
            [FieldError("body", "the first row looks like data (an email address), not column names")]
        )
    return _unique(names)


def _unique(names: list[str]) -> list[str]:
    """Empty names become ``Column 3``; a repeated name (case ignored) becomes ``Email (column 4)``."""
    seen: set[str] = set()
    result: list[str] = []
    for number, name in enumerate(names, start=1):
        candidate = name or f"Column {number}"
        if candidate.casefold() in seen:
            candidate = f"{candidate} (column {number})"
        suffix = 2
        while candidate.casefold() in seen:
            candidate = f"{name or 'Column'} (column {number}, {suffix})"
            suffix += 1
        seen.add(candidate.casefold())
        result.append(candidate)
    return result


# ---------------------------------------------------------------- columns -> field paths


def normalise_header(header: str) -> str:
    """``" Country/Region "`` -> ``"country region"``: case and punctuation do not count."""
    return " ".join(re.sub(r"[\W_]+", " ", header.casefold()).split())


def slugify(text: str) -> str:
    """``"Email Opened"`` -> ``"email_opened"``; accents are dropped (``"Société"`` -> ``"societe"``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


#: Export headers of Dynamics 365, Salesforce (report and API names) and HubSpot, by field path. Lead
#: sources go to ``lead.origin_source``: the import sets ``lead.source`` itself. Statuses go to
#: ``lead.origin_status``: ``lead.status`` belongs to Leadflow's lifecycle.
_AUTO_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "contact.email": ("Email", "E-mail", "Email Address", "E-mail Address", "Business Email", "Work Email"),
    "contact.first_name": ("First Name", "FirstName", "Given Name", "Forename"),
    "contact.last_name": ("Last Name", "LastName", "Surname", "Family Name"),
    "contact.phone": ("Phone", "Phone Number", "Business Phone", "Work Phone", "Telephone", "Main Phone"),
    "contact.mobile_phone": ("Mobile", "Mobile Phone", "MobilePhone", "Mobile Phone Number", "Cell Phone"),
    "contact.job_title": ("Job Title", "Title", "Position"),
    "contact.country": ("Country", "Country/Region"),
    "contact.state": ("State", "State/Province", "State/Region", "Province"),
    "contact.city": ("City", "Town"),
    "contact.postal_code": ("Postal Code", "PostalCode", "Postcode", "Zip", "Zip Code", "ZIP/Postal Code"),
    "contact.street": ("Street", "Street 1", "Street Address", "Address"),
    "account.name": ("Company", "Company Name", "Account Name", "Organization", "Organisation"),
    "account.domain": ("Website", "Website URL", "Web Site", "Company Domain Name", "Domain"),
    "account.employees": (
        "Number of Employees",
        "NumberOfEmployees",
        "No. of Employees",
        "Employees",
        "Employee Count",
    ),
    "account.industry": ("Industry",),
    "account.annual_revenue": ("Annual Revenue", "AnnualRevenue"),
    "lead.topic": ("Topic", "Subject", "Lead Topic"),
    "lead.campaign": ("Campaign", "Campaign Name", "Source Campaign"),
    "lead.origin_source": ("Lead Source", "LeadSource", "Original Source", "Source"),
    "lead.origin_status": ("Lead Status",),
    "lead.origin_rating": ("Rating", "Lead Rating"),
    "lead.description": ("Description",),
}
#: Normalised header -> field path (see :func:`normalise_header`).
AUTO_HEADERS: dict[str, str] = {
    normalise_header(name): path for path, names in _AUTO_HEADER_NAMES.items() for name in names
}
#: Options an auto-mapped column gets beyond its path.
_AUTO_OPTIONS: dict[str, dict[str, Any]] = {
    "contact.mobile_phone": {"type": "phone"},
    "lead.description": {"max_length": 10000},
}

IGNORE = "ignore"
CONSENT = "consent"
INTERACTION_TYPE = "interaction.type"
INTERACTION_OCCURRED_AT = "interaction.occurred_at"
_INTERACTION_TARGETS = (INTERACTION_TYPE, INTERACTION_OCCURRED_AT)
#: The pattern ``POST /v1/interactions`` accepts for a type (chalicelib/domain/interactions.py).
_INTERACTION_TYPE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TARGETS_HELP = "a field path (contact.email), consent, interaction.type, interaction.occurred_at or ignore"


class ImportColumn(BaseModel):
    """Where one column goes; the options are a form field's (``type``, ``required``, ``level``)."""

    model_config = ConfigDict(extra="forbid")

    maps_to: str = Field(min_length=1, max_length=200)
    type: FieldType | None = None
    required: bool = False
    level: ConsentLevel | None = None
    max_length: int = Field(2000, ge=1, le=10000)


_Target = Annotated[str, Field(min_length=1, max_length=200)]


class ImportMapping(BaseModel):
    """How an import's columns become a lead, its contact and account, and an interaction."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, _Target | ImportColumn] = Field(default_factory=dict, max_length=500)
    auto: bool = True
    unmapped: Literal["ignore", "custom"] = "ignore"
    source: str = Field("import", min_length=1, max_length=64)
    topic: str | None = Field(None, max_length=500)
    campaign: str | None = Field(None, max_length=200)
    #: imported people were not asked: the import itself grants nothing
    consent: ConsentLevel = "none"
    lead_matching: LeadMatchingField = Field(default_factory=lambda: list(DEFAULT_LEAD_MATCHING))
    phone_region: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    #: a file is often an old export: by default it fills what a known person lacks and keeps what it
    #: says differently as conflicts on the lead; ``overwrite`` when the file is the newer truth
    update_policy: Literal["fill_empty", "overwrite"] = "fill_empty"


def parse_mapping(data: Any) -> ImportMapping:
    """Validate a mapping sent by a client; raises :class:`ValidationFailed` naming each bad part."""
    try:
        return ImportMapping.model_validate(data)
    except ValidationError as exc:
        raise form_validation_errors(exc) from None


@dataclass(frozen=True)
class ResolvedImport:
    """A mapping applied to one file's headers. ``form`` has one field per imported column, named
    ``c<index>`` (headers are free text; form field names are not)."""

    form: FormDefinition
    column_of: dict[str, str]  # header -> form field name
    header_of: dict[str, str]  # form field name -> header
    mapped: dict[str, str]  # header -> target
    unmapped: list[str]  # recognised by nothing: shown to the operator
    ignored: list[str]  # mapped to "ignore"
    interaction_column: str | None = None
    occurred_at_column: str | None = None
    interaction_required: bool = False


class _Resolution:
    """The working state of :func:`resolve`; collects every error before any is raised."""

    def __init__(self, headers: list[str], mapping: ImportMapping) -> None:
        self.headers = headers
        self.mapping = mapping
        self.errors: list[FieldError] = []
        self.targets: dict[str, ImportColumn] = {}  # header -> target, in header order once sorted
        self.taken: dict[str, str] = {}  # target path -> header
        self.ignored: list[str] = []
        self.unmapped: list[str] = []

    def fail(self, header: str, message: str) -> None:
        self.errors.append(FieldError(f"columns.{header}", f"columns.{header}: {message}"))

    def explicit(self) -> dict[str, ImportColumn]:
        by_name = {header.casefold(): header for header in self.headers}
        found: dict[str, ImportColumn] = {}
        for key, target in self.mapping.columns.items():
            header = key if key in self.headers else by_name.get(" ".join(key.split()).casefold())
            if header is None:
                self.fail(key, f"the file has no column {key!r} (its columns: {_listed(self.headers)})")
                continue
            if header in found:
                self.fail(key, f"the column {header!r} is named twice in columns")
                continue
            found[header] = target if isinstance(target, ImportColumn) else ImportColumn(maps_to=target)
        return found

    def claim(self, header: str, column: ImportColumn) -> None:
        problem = _target_problem(column)
        if problem:
            self.fail(header, problem)
            return
        if column.maps_to == IGNORE:
            self.ignored.append(header)
            return
        if column.maps_to != CONSENT and column.maps_to in self.taken:
            self.fail(header, f"{self.taken[column.maps_to]!r} already maps to {column.maps_to}")
            return
        self.taken[column.maps_to] = header
        self.targets[header] = column

    def implicit(self, index: int, header: str) -> None:
        path = AUTO_HEADERS.get(normalise_header(header)) if self.mapping.auto else None
        if path is not None and path not in self.taken:
            self.claim(header, ImportColumn(maps_to=path, **_AUTO_OPTIONS.get(path, {})))
        elif self.mapping.unmapped == "custom":
            self.claim(header, ImportColumn(maps_to=self.custom_path(index, header)))
        else:
            self.unmapped.append(header)

    def custom_path(self, index: int, header: str) -> str:
        """``contact.<slug>``, never a standard field nor a path another column has."""
        slug = slugify(header) or f"column_{index + 1}"
        if not slug[0].isalpha():
            slug = f"col_{slug}"
        base = slug[:60].rstrip("_")
        name, suffix = base, 2
        while (
            name in STANDARD_FIELDS["contact"]
            or f"contact.{name}" in RESERVED_FIELDS
            or f"contact.{name}" in self.taken
        ):
            name, suffix = f"{base}_{suffix}", suffix + 1
        return f"contact.{name}"


def _listed(headers: list[str], limit: int = 20) -> str:
    shown = ", ".join(repr(h) for h in headers[:limit])
    return shown + (", ..." if len(headers) > limit else "")


def _target_problem(column: ImportColumn) -> str | None:
    target = column.maps_to
    if target in (IGNORE, *_INTERACTION_TARGETS):
        if column.type is not None or column.level is not None:
            return f"type and level are for field targets, not {target}"
        return None
    if target == CONSENT:
        return None if column.level else "a consent column needs a level"
    try:
        parse_path(target)
    except InvalidValue:
        return f"{target!r} is not a target: use {_TARGETS_HELP}"
    if target in MANAGED_FIELDS:
        return f"{target} is managed by Leadflow; an import cannot set it"
    if target in RESERVED_FIELDS:
        return f"{target} is reserved: Leadflow keeps it itself; an import cannot set it"
    if target == "lead.source":
        return "the import sets lead.source itself (see source); map a source column to lead.origin_source"
    return None


def resolve(headers: list[str], mapping: ImportMapping) -> ResolvedImport:
    """Apply ``mapping`` to a file's headers: explicit columns first, then recognised headers (a path
    an explicit column has is not taken again), then ``unmapped``. Raises :class:`ValidationFailed`
    naming each bad column (``columns.<header>``), or ``columns`` when nothing maps to contact.email."""
    state = _Resolution(headers, mapping)
    explicit = state.explicit()
    for header in headers:
        if header in explicit:
            state.claim(header, explicit[header])
    for index, header in enumerate(headers):
        if header not in explicit:
            state.implicit(index, header)
    state.targets = {h: state.targets[h] for h in headers if h in state.targets}
    _check_whole(state)
    if state.errors:
        raise ValidationFailed(state.errors)
    return _resolved(state)


def _check_whole(state: _Resolution) -> None:
    if INTERACTION_OCCURRED_AT in state.taken and INTERACTION_TYPE not in state.taken:
        state.fail(
            state.taken[INTERACTION_OCCURRED_AT], "interaction.occurred_at needs an interaction.type column"
        )
    fields = [h for h, c in state.targets.items() if c.maps_to not in _INTERACTION_TARGETS]
    if len(fields) > MAX_MAPPED_COLUMNS:
        state.errors.append(
            FieldError(
                "columns", f"columns: at most {MAX_MAPPED_COLUMNS} columns can be imported, not {len(fields)}"
            )
        )
    if "contact.email" not in state.taken:
        state.errors.append(
            FieldError(
                "columns",
                "columns: no column maps to contact.email (contacts are matched by email); "
                'name it, e.g. {"columns": {"E-mail": "contact.email"}}',
                "required",
            )
        )


def _resolved(state: _Resolution) -> ResolvedImport:
    mapping = state.mapping
    fields: dict[str, FormField] = {}
    column_of: dict[str, str] = {}
    for header, column in state.targets.items():
        if column.maps_to in _INTERACTION_TARGETS:
            continue
        name = f"c{state.headers.index(header)}"
        try:
            fields[name] = FormField.model_validate(column.model_dump(exclude_defaults=True))
        except ValidationError as exc:
            state.fail(header, "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()))
            continue
        column_of[header] = name
    if state.errors:
        raise ValidationFailed(state.errors)
    try:
        form = FormDefinition(
            name="CSV import",
            source=mapping.source,
            topic=mapping.topic,
            campaign=mapping.campaign,
            fields=fields,
            lead_matching=mapping.lead_matching,
            consent_on_submit=mapping.consent,
            phone_region=mapping.phone_region,
            update_policy=mapping.update_policy,
        )
    except ValidationError as exc:
        raise form_validation_errors(exc) from None
    interaction = state.taken.get(INTERACTION_TYPE)
    return ResolvedImport(
        form=form,
        column_of=column_of,
        header_of={name: header for header, name in column_of.items()},
        mapped={header: column.maps_to for header, column in state.targets.items()},
        unmapped=state.unmapped,
        ignored=state.ignored,
        interaction_column=interaction,
        occurred_at_column=state.taken.get(INTERACTION_OCCURRED_AT),
        interaction_required=bool(interaction and state.targets[interaction].required),
    )


# ---------------------------------------------------------------- rows -> submissions


def _readable(row: CsvRow) -> dict[str, str]:
    if row.error is not None:
        raise ValidationFailed([FieldError("row", row.error)])
    return row.values


def row_submission(resolved: ResolvedImport, row: CsvRow) -> dict[str, Any]:
    """The row as a submission to ``resolved.form``, for :func:`capture_from_submission`. A row that
    could not be read raises :class:`ValidationFailed` (field ``row``)."""
    values = _readable(row)
    return {name: values.get(header, "") for header, name in resolved.column_of.items()}


def column_errors(resolved: ResolvedImport, failed: ValidationFailed) -> ValidationFailed:
    """Errors on form field names (``c3``) told with the column's header instead (``E-mail``)."""
    renamed = []
    for error in failed.errors:
        header = resolved.header_of.get(error.field)
        if header is None:
            renamed.append(error)
            continue
        message = error.message
        if message.startswith(f"{error.field} "):
            message = header + message[len(error.field) :]
        renamed.append(FieldError(header, message, error.code))
    return ValidationFailed(renamed)


def interaction_type(value: str) -> str:
    """``"Email Opened"`` -> ``"email_opened"``; raises :class:`InvalidValue` when the slug is not a
    usable type (it must start with a letter and be at most 64 characters)."""
    kind = slugify(value)
    if not _INTERACTION_TYPE_PATTERN.fullmatch(kind):
        raise InvalidValue("is not an interaction type (it must start with a letter; at most 64 characters)")
    return kind


def parse_occurred_at(value: str) -> datetime:
    """ISO 8601 time or date; exports often give no zone, and such a time is read as UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValue("must be an ISO 8601 time (2026-11-24T10:00:00Z) or date") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parse_time(parsed.isoformat())


def row_interaction(resolved: ResolvedImport, row: CsvRow) -> tuple[str, datetime | None] | None:
    """The interaction the row records for its contact: ``(type, occurred_at or None)``, or ``None``
    when the file has no interaction column or the row leaves it empty. Raises
    :class:`ValidationFailed` naming the column of a bad value."""
    column = resolved.interaction_column
    if column is None:
        return None
    values = _readable(row)
    errors: list[FieldError] = []
    kind = occurred_at = None
    raw = values.get(column, "").strip()
    if raw:
        try:
            kind = interaction_type(raw)
        except InvalidValue as exc:
            errors.append(FieldError(column, f"{column} {exc}"))
    elif resolved.interaction_required:
        errors.append(FieldError(column, f"{column} is required", "required"))
    when = resolved.occurred_at_column
    if when is not None and values.get(when, "").strip():
        try:
            occurred_at = parse_occurred_at(values[when])
        except InvalidValue as exc:
            errors.append(FieldError(when, f"{when} {exc}"))
    if errors:
        raise ValidationFailed(errors)
    return None if kind is None else (kind, occurred_at)


# ---------------------------------------------------------------- rows -> work messages


def json_size(item: Any) -> int:
    """Bytes ``item`` takes in a JSON message (dataclasses as their fields), with its separator."""
    if is_dataclass(item) and not isinstance(item, type):
        item = asdict(item)
    return len(json.dumps(item, default=str, separators=(",", ":")).encode()) + 1


def chunks(
    rows: Iterable[T],
    max_rows: int = 100,
    max_bytes: int = 200_000,
    size: Callable[[T], int] = json_size,
) -> Iterator[list[T]]:
    """Consecutive groups of at most ``max_rows`` items and ``max_bytes`` bytes (by ``size``), in
    order. An item bigger than ``max_bytes`` on its own travels alone (rows from :class:`CsvTable`
    never are: they are at most :data:`MAX_ROW_CHARS` characters)."""
    if max_rows < 1 or max_bytes < 1:
        raise ValueError("max_rows and max_bytes must be positive")
    batch: list[T] = []
    total = 0
    for item in rows:
        item_size = size(item)
        if batch and (len(batch) >= max_rows or total + item_size > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(item)
        total += item_size
    if batch:
        yield batch
