"""Template renders are bounded in time and memory (issue 18 audit, M4): the audit's templates that
grew the process to 3 GB or ran for more than 30 s are refused on save in milliseconds, naming the
part; at send time a person's field that pushes a render past a bound refuses the send, it does not
hang; ordinary templates render as before."""

from __future__ import annotations

import time

import pytest

from chalicelib.domain.email import parse_template, render
from chalicelib.domain.entities import Contact
from chalicelib.domain.errors import ValidationFailed
from chalicelib.services import mail
from chalicelib.settings import Settings
from tests.fakes import FakeRecordStore, fake_deps
from tests.fakes_mail import FakeMail, FakeMailer
from tests.unit.test_mail import NOW

#: Far below what the audit saw (19 s to save, more than 30 s to render), far above the few ms here.
FAST = 1.5

AUDIT_TEMPLATES = {
    "string_repeated_a_billion_times": "{{ 'x' * 10**9 }}",
    "percent_format_with_a_huge_width": "{{ '%999999999s' % 'x' }}",
    "nested_range_loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "nested_loops_each_under_the_range_bound": (
        "{% for i in range(1000) %}{% for j in range(1000) %}{{ j }}{% endfor %}{% endfor %}"
    ),
    "lipsum_of_a_million_paragraphs": "{{ lipsum(n=1000000) }}",
    "format_filter_with_a_huge_width": "{{ '%999999999s' | format('x') }}",
    "str_format_with_a_huge_width": "{{ '{:999999999}'.format('x') }}",
    "format_map_with_a_huge_width": "{{ '{a:>999999999}'.format_map({'a': 1}) }}",
    "str_format_width_taken_from_an_argument": "{{ '{:{w}}'.format('x', w=999999999) }}",
    "percent_width_taken_from_an_argument": "{{ '%*s' % (999999999, 'x') }}",
    "a_ten_million_bit_power": "{{ 10 ** 10000000 }}",
    "center_filter_a_billion_wide": "{{ 'x' | center(999999999) }}",
    "str_ljust_a_billion_wide": "{{ 'x'.ljust(999999999) }}",
    "concatenation_doubling": (
        "{% set a = 'x' * 60000 %}{% set b = a ~ a %}{% set c = b ~ b %}{% set d = c ~ c %}{{ d }}"
    ),
    "nested_list_literals_printed": (
        "{% set a = ['x' * 50000] %}{% set b = [a, a, a, a] %}{% set c = [b, b, b, b] %}{{ c }}"
    ),
    "join_with_a_huge_separator": "{{ (['x'] * 40000) | join('y' * 90000) }}",
    "replace_amplifying": "{{ ('x' * 90000) | replace('x', 'y' * 1000) }}",
    "literal_text_in_a_captured_loop": (
        "{% set a %}{% for i in range(1000) %}{% for j in range(40) %}"
        + "z" * 500
        + "{% endfor %}{% endfor %}{% endset %}"
    ),
    "macro_calling_itself_twice": (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}"
    ),
    "recursive_loop_doubling": "{% for x in [1, 1] recursive %}{{ loop([1, 1]) }}{% endfor %}",
    "nested_loops_over_a_long_string": (
        "{% set s = 'x' * 50000 %}{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}"
    ),
    "sum_of_lists_quadratic": "{{ ([[1]] * 30000) | sum(start=[]) | length }}",
}


@pytest.mark.parametrize("source", AUDIT_TEMPLATES.values(), ids=AUDIT_TEMPLATES.keys())
@pytest.mark.parametrize("part", ["subject", "html", "text"])
def test_an_unbounded_template_is_refused_on_save_quickly_naming_the_part(part: str, source: str) -> None:
    body = {"subject": "Hello", "html": "<p>Hello</p>", "text": "Hello", part: source}
    started = time.perf_counter()
    with pytest.raises(ValidationFailed) as refused:
        parse_template("t1", body)
    elapsed = time.perf_counter() - started
    assert [error.field for error in refused.value.errors] == [part]
    assert refused.value.errors[0].message.startswith(f"{part}: ")
    assert elapsed < FAST, f"refused after {elapsed:.2f} s"


def test_the_open_attribute_trick_is_refused_on_save_not_saved_to_render_empty() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_template("t1", {"subject": "s", "html": "<p>h</p>", "text": "{{ ''.__class__ }}"})
    assert refused.value.errors[0].field == "text"
    assert "__class__" in refused.value.errors[0].message


def test_ordinary_templates_still_render_loops_filters_and_formats() -> None:
    template = parse_template(
        "t1",
        {
            "subject": "{{ contact.first_name | default('there') | title }}, {{ '%.1f' % 2.25 }}",
            "html": (
                "<ul>{% for key, value in contact.fields | dictsort %}<li>{{ key | upper }}="
                "{{ value }}</li>{% endfor %}</ul>{{ '{:>6}'.format(contact.fields.city | default('')) }}"
                "{% for i in range(3) %}{{ loop.index }}{% endfor %}{{ 'ab' * 3 }}"
                "{{ ['a', 'b'] | join(', ') }}{{ 'x' | center(5) }}|{{ 2 ** 10 }}"
            ),
            "text": "{{ contact.fields.city | replace('o', '0') }} {{ [1, 2, 3] | sum }}",
        },
    )
    rendered = render(template, {"contact": {"first_name": "ada", "fields": {"city": "Oslo", "plan": "pro"}}})
    assert rendered.subject == "Ada, 2.2"
    assert rendered.html == ("<ul><li>CITY=Oslo</li><li>PLAN=pro</li></ul>  Oslo123abababa, b  x  |1024")
    assert rendered.text == "Osl0 6"


def test_a_persons_field_that_pushes_a_render_past_a_bound_refuses_the_send_quickly() -> None:
    store, mail_store, mailer = FakeRecordStore(), FakeMail(), FakeMailer()
    deps = fake_deps(Settings(), store=store, mail=mail_store, mailer=mailer)
    # renders with no fields (the trial render on save passes), explodes with this person's field
    template = parse_template(
        "t1",
        {
            "subject": "Hi",
            "html": "<p>{{ 'x' * (contact.fields.n | default(0) | int) }}</p>",
            "text": "{% for i in range(contact.fields.n | default(0) | int) %}.{% endfor %}",
        },
    )
    mail_store.put_template(template, NOW)
    store.add(Contact("c1", "ada@example.com", {"n": 10**9}, NOW, NOW, consent="marketing"))
    started = time.perf_counter()
    refused = mail.send_template("t1", "c1", "api:1", deps)
    assert time.perf_counter() - started < FAST
    assert refused.message.status == "unrenderable", refused.message  # the outbox shows why
    assert "more than 100000 characters" in str(refused.message.reason)
    assert mailer.sent == []
    again = mail.send_template("t1", "c1", "api:1", deps)  # a retry gets the same answer, no render
    assert again.new is False and again.message.status == "unrenderable"
