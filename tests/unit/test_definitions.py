"""Definition files read safely and as JSON would have them (leadflow_local/definitions.py): YAML 1.2
scalars (a branch's ``yes:``/``no:`` stay keys), duplicate keys refused, alias bombs and recursive
aliases refused before anything walks them, and every problem one line naming its place."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from leadflow_local.definitions import MAX_FILE_BYTES, DefinitionError, load, loads


def test_yes_no_and_on_stay_text_as_in_json_not_yaml_1_1_booleans():
    """PyYAML's safe_load (YAML 1.1) reads ``yes: call`` as ``{True: "call"}``: a branch's exits would
    vanish and ``on:`` (a trigger) would become a ``True`` key."""
    import yaml

    text = "yes: call\nno: nudge\non: form_submitted\nflag: true\noff_: off\n"
    assert True in yaml.safe_load(text), "what YAML 1.1 does"
    assert loads(text) == [
        {"yes": "call", "no": "nudge", "on": "form_submitted", "flag": True, "off_": "off"}
    ]


def test_times_dates_and_numbers_are_read_as_json_would_have_them():
    text = (
        "t: 9:30\nd: 2026-12-01\nu: 2026-12-01T09:00:00Z\nz: 012\nx: 0x1F\no: 0o17\nf: 1.5\ne: 1e3\nn: null\n"
    )
    assert loads(text) == [
        {
            "t": "9:30",  # YAML 1.1: the base-60 integer 570
            "d": "2026-12-01",  # YAML 1.1: a date, which JSON cannot hold
            "u": "2026-12-01T09:00:00Z",
            "z": 12,  # YAML 1.1: octal 10
            "x": 31,
            "o": 15,
            "f": 1.5,
            "e": 1000.0,
            "n": None,
        }
    ]


def test_a_key_given_twice_is_an_error_naming_its_line():
    with pytest.raises(DefinitionError, match=r"line 3, column 1: .*key 'steps' twice"):
        loads("name: a\nsteps: []\nsteps: [1]\n", "j.yaml")
    with pytest.raises(DefinitionError, match="the key 'a' is given twice"):
        loads('{"a": 1, "a": 2}', "j.json", as_json=True)


def test_a_merge_key_may_be_overridden_without_being_a_duplicate():
    assert loads("base: &b {x: 1, y: 2}\nc: {<<: *b, y: 3}\n") == [
        {"base": {"x": 1, "y": 2}, "c": {"x": 1, "y": 3}}
    ]


def test_an_alias_bomb_is_refused_quickly_without_expanding_it():
    levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for n in range(1, 10):  # 10**10 "lol"s once expanded, from about 600 bytes
        prior = chr(ord("a") + n - 1)
        levels.append(f"{chr(ord('a') + n)}: &{chr(ord('a') + n)} [{', '.join([f'*{prior}'] * 10)}]")
    started = time.perf_counter()
    with pytest.raises(DefinitionError, match="once its aliases are expanded"):
        loads("\n".join(levels) + "\n", "bomb.yaml")
    assert time.perf_counter() - started < 1.0


def test_aliases_within_the_bound_are_kept():
    loaded = loads("cond: &c {field: lead.status, op: eq, value: new}\nx: *c\ny: *c\n")
    assert loaded[0]["x"] == loaded[0]["y"] == {"field": "lead.status", "op": "eq", "value": "new"}


def test_a_recursive_alias_and_deep_nesting_are_refused():
    with pytest.raises(DefinitionError, match=r"a\[1\] contains itself"):
        loads("a: &a [1, *a]\n")
    with pytest.raises(DefinitionError, match="nested more than 64 levels"):
        loads("a: " + "[" * 100 + "]" * 100 + "\n")
    with pytest.raises(DefinitionError, match="nested too deeply"):
        loads("a: " + "[" * 100_000 + "]" * 100_000 + "\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: !!python/object/apply:os.system ['echo owned']\n", "could not determine a constructor"),
        ("a: !!timestamp 2026-12-01\n", "a is a YAML date, which JSON cannot hold"),
        ("a: !!binary aGk=\n", "a is a YAML bytes"),
        ("steps: [{id: x, days: .inf}]\n", r"steps\[0\].days is inf"),
        ("1: a\n", "has the key 1, which is not text"),
        ("a: [1, 2\nb: 3\n", "line 2, column 2"),
    ],
    ids=["python-object", "timestamp", "binary", "infinity", "number-key", "syntax"],
)
def test_what_json_cannot_hold_is_one_line_naming_its_place(text: str, message: str):
    with pytest.raises(DefinitionError, match=message) as raised:
        loads(text, "x.yaml")
    assert "\n" not in str(raised.value)


def test_a_huge_file_is_refused_before_it_is_parsed(tmp_path: Path):
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(DefinitionError, match="a definition file is at most"):
        load(big)


def test_json_files_are_read_as_strict_json_and_yaml_files_as_documents(tmp_path: Path):
    (tmp_path / "a.json").write_text('{"a": NaN}')
    with pytest.raises(DefinitionError, match="NaN is not a JSON number"):
        load(tmp_path / "a.json")
    (tmp_path / "b.yaml").write_text("a: 1\n---\n---\nb: 2\n")
    assert load(tmp_path / "b.yaml") == [{"a": 1}, {"b": 2}]
    (tmp_path / "c.yaml").write_bytes(b"a: \xff\n")
    with pytest.raises(DefinitionError, match="is not UTF-8"):
        load(tmp_path / "c.yaml")
