"""Jinja2's sandbox with bounds: every render of an operator's template is bounded in time and memory.

The sandbox alone keeps a template from reaching Python's internals, but not from asking for a
billion characters (``{{ 'x' * 10**9 }}``, ``'%999999999s' % 'x'``, ``'{:999999999}'.format(1)``,
``'x' | center(10**9)``) or a billion iterations (nested ``range(100000)`` loops, ``lipsum(n=10**6)``).
This module bounds both, with the sandbox's documented hooks and Jinja2's own compiler:

- operators: ``*``, ``**``, ``%`` and ``+`` are intercepted (``intercepted_binops`` / ``call_binop``)
  and judged on their operands BEFORE Python computes them; ``~`` (concatenation) is checked after
  (its result is at most the sum of bounded operands);
- ``%``-formatting, the ``format`` filter, ``str.format`` and ``format_map``: a width or precision
  above :data:`MAX_WIDTH`, or one taken from the arguments (``*``, ``{:{w}}``), is refused;
- filters and calls: the amplifying ones (``center``, ``indent``, ``replace``, ``join``, ``batch``,
  ``str.ljust``...) are judged before they run, every result after;
- ``range`` yields at most :data:`MAX_RANGE` numbers; ``lipsum``, ``cycler`` and ``joiner`` are gone;
- every loop iteration, call and filter is a step of a per-render budget (:data:`MAX_STEPS`, and a
  wall-clock deadline of :data:`MAX_SECONDS`), so nested loops are bounded together, not each alone;
- everything a template produces (printed values, literal text, also inside ``{% set %}`` blocks and
  macros, which are not streamed) counts against :data:`MAX_PRODUCED`, and each part's output is
  streamed (``generate()``) and stops past :data:`MAX_OUTPUT`.

A bound exceeded raises :class:`BoundExceeded` (a ``TemplateError``): on save it is a 422 naming the
part, at send time the message is not rendered (see ``domain/email.py: render``).

Imported on first render only (it imports Jinja2): ``import app`` does not pay for it."""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import update_wrapper
from typing import Any

from jinja2 import ChainableUndefined, nodes, pass_context
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

#: The largest value (characters of a string, items of a list, counted through nested lists) an
#: operator, filter or call may make. The biggest part (html) is 200,000 characters of source.
MAX_VALUE = 100_000
#: The largest integer, in bits (``10 ** 10 ** 6`` would take seconds to print).
MAX_INT_BITS = 4_096
#: The widest field a format may ask for (``%1000s``, ``{:>1000}``, ``center(1000)``).
MAX_WIDTH = 1_000
#: The most numbers ``range()`` gives.
MAX_RANGE = 1_000
#: Loop iterations + calls + filters in one render (the three parts together).
MAX_STEPS = 50_000
#: Characters one part may render to.
MAX_OUTPUT = 512 * 1024
#: Characters a render may produce in all (printed values and literal text, also in captured blocks).
MAX_PRODUCED = 4 * MAX_OUTPUT
#: Wall-clock time of one render (the three parts together), checked at every step.
MAX_SECONDS = 2.0


class BoundExceeded(TemplateError):
    """A template asked for more than a render may use; the message says which bound."""


@dataclass
class Budget:
    """What one render (subject, html and text of one message) has used so far."""

    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_SECONDS)
    steps: int = 0
    produced: int = 0

    def step(self, count: int = 1) -> None:
        self.steps += count
        if self.steps > MAX_STEPS:
            raise BoundExceeded(f"the template runs more than {MAX_STEPS} loop iterations and calls")
        if time.monotonic() > self.deadline:
            raise BoundExceeded(f"the template takes more than {MAX_SECONDS:g} s to render")

    def produce(self, chars: int) -> None:
        self.produced += chars
        if self.produced > MAX_PRODUCED:
            raise BoundExceeded(f"the template produces more than {MAX_PRODUCED} characters")


_BUDGET: ContextVar[Budget | None] = ContextVar("leadflow_render_budget", default=None)


def _budget() -> Budget:
    budget = _BUDGET.get()
    # a template rendered outside render_part (there is none in the code) gets a budget per hook
    return budget if budget is not None else Budget()


def render_part(environment: BoundedEnvironment, source: str, context: dict[str, Any], budget: Budget) -> str:
    """``source`` rendered with ``context`` under ``budget``, streamed and cut past :data:`MAX_OUTPUT`."""
    token = _BUDGET.set(budget)
    try:
        chunks: list[str] = []
        size = 0
        for chunk in environment.from_string(source).generate(context):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise BoundExceeded(f"the part renders to more than {MAX_OUTPUT} characters")
            chunks.append(chunk)
        return "".join(chunks)
    finally:
        _BUDGET.reset(token)


# ---------------------------------------------------------------- sizes


def weight(value: Any, limit: int = MAX_VALUE) -> int:
    """Characters of a string, plus items of lists, tuples, sets and dicts counted through their
    nesting (a list holding one 50,000-character string twice weighs 100,002); stops counting just
    past ``limit``, so weighing costs at most about ``limit`` steps whatever the value."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            total += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += len(item)
            if total <= limit:
                stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 16
        else:
            total += 1
    return total


def _checked(value: Any, what: str) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise BoundExceeded(f"{what} makes a number of more than {MAX_INT_BITS} bits")
    if weight(value) > MAX_VALUE:
        raise BoundExceeded(f"{what} makes a value of more than {MAX_VALUE} characters or items")
    return value


def _refuse_over(estimate: int, what: str) -> None:
    if estimate > MAX_VALUE:
        raise BoundExceeded(f"{what} would make a value of more than {MAX_VALUE} characters or items")


def _width(value: Any, what: str) -> None:
    if isinstance(value, int) and value > MAX_WIDTH:
        raise BoundExceeded(f"{what} asks for a width of {value}; at most {MAX_WIDTH}")


# %-formatting: a conversion with an optional mapping key, flags, width and precision
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[a-zA-Z%]")


def _check_percent(template: str, what: str) -> None:
    for width, precision in _PERCENT.findall(template):
        for number in (width, precision):
            if number == "*":
                raise BoundExceeded(f"{what}: a width or precision taken from the arguments (*) is refused")
            if number and int(number) > MAX_WIDTH:
                raise BoundExceeded(f"{what} asks for a width or precision of {number}; at most {MAX_WIDTH}")


def _check_format_string(template: str, what: str) -> None:
    """``str.format``'s fields: a width or precision over :data:`MAX_WIDTH`, or nested in a field
    (``{:{w}}``, taken from the arguments), is refused."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return  # Python refuses it itself when called
    for _, _, spec, _ in parsed:
        if not spec:
            continue
        if "{" in spec:
            raise BoundExceeded(f"{what}: a width or precision taken from the arguments is refused")
        for number in re.findall(r"\d+", spec):
            if int(number) > MAX_WIDTH:
                raise BoundExceeded(f"{what} asks for a width or precision of {number}; at most {MAX_WIDTH}")


# ---------------------------------------------------------------- operators


def _repeat_estimate(left: Any, right: Any) -> int | None:
    """The weight of ``left * right`` when one is a sequence and the other a count, else ``None``."""
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, (str, list, tuple)) and isinstance(count, int):
            return weight(sequence, MAX_VALUE) * max(count, 0)
    return None


def _check_binop(operator: str, left: Any, right: Any) -> None:
    numbers = (
        isinstance(left, int)
        and isinstance(right, int)
        and not isinstance(left, bool)
        and not isinstance(right, bool)
    )
    if operator == "*":
        repeated = _repeat_estimate(left, right)
        if repeated is not None:
            _refuse_over(repeated, "'*'")
        elif numbers and left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise BoundExceeded(f"'*' would make a number of more than {MAX_INT_BITS} bits")
    elif operator == "**":
        if numbers and right > 0 and abs(left) > 1 and left.bit_length() * right > MAX_INT_BITS:
            raise BoundExceeded(f"'**' would make a number of more than {MAX_INT_BITS} bits")
    elif operator == "%" and isinstance(left, str):
        _check_percent(left, "'%' formatting")


# ---------------------------------------------------------------- filters and calls


_Arg = Callable[[int, str, Any], Any]


def _check_center_indent(name: str, value: Any, arg: _Arg) -> None:
    width = arg(0, "width", 80 if name == "center" else 4)
    _width(width, f"the {name} filter")
    if name == "indent":
        text = str(value)
        per_line = len(width) if isinstance(width, str) else max(width, 0) if isinstance(width, int) else 0
        _refuse_over(len(text) + (text.count("\n") + 1) * per_line, "the indent filter")


def _check_format(_name: str, value: Any, _arg: _Arg) -> None:
    if isinstance(value, str):
        _check_percent(value, "the format filter")


def _check_replace(_name: str, value: Any, arg: _Arg) -> None:
    old, new = arg(0, "old", ""), arg(1, "new", "")
    if isinstance(value, str) and isinstance(old, str) and isinstance(new, str):
        hits = value.count(old) if old else len(value) + 1
        _refuse_over(len(value) + hits * len(new), "the replace filter")


def _check_join(_name: str, value: Any, arg: _Arg) -> None:
    separator = arg(0, "d", "")
    if isinstance(value, (list, tuple, str)) and isinstance(separator, str):
        _refuse_over(weight(value) + len(value) * len(separator), "the join filter")


def _check_count(name: str, _value: Any, arg: _Arg) -> None:
    count = arg(0, "linecount" if name == "batch" else "slices", 1)
    if isinstance(count, int):
        _refuse_over(count, f"the {name} filter")


def _check_wordwrap(_name: str, value: Any, arg: _Arg) -> None:
    width, wrapstring = arg(0, "width", 79), arg(2, "wrapstring", None)
    if isinstance(value, str) and isinstance(width, int) and isinstance(wrapstring, str):
        _refuse_over(len(value) + (len(value) // max(width, 1) + 1) * len(wrapstring), "the wordwrap filter")


def _check_sum(_name: str, _value: Any, arg: _Arg) -> None:
    # sum(start=[]) concatenates lists: quadratic in their number
    if not isinstance(arg(1, "start", 0), (int, float)):
        raise BoundExceeded("the sum filter adds numbers only (its start must be a number)")


#: The amplifying filters, judged before they run (every filter's result is weighed after).
_FILTER_CHECKS: dict[str, Callable[[str, Any, _Arg], None]] = {
    "center": _check_center_indent,
    "indent": _check_center_indent,
    "format": _check_format,
    "replace": _check_replace,
    "join": _check_join,
    "batch": _check_count,
    "slice": _check_count,
    "wordwrap": _check_wordwrap,
    "sum": _check_sum,
}


def _filter_checks(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Judge a filter before it runs (``args[0]`` is the value filtered)."""
    value = args[0] if args else None
    rest = args[1:]

    def arg(index: int, key: str, default: Any) -> Any:
        return kwargs.get(key, rest[index] if len(rest) > index else default)

    check = _FILTER_CHECKS.get(name)
    if check is not None:
        check(name, value, arg)
    if value is not None and weight(value) > MAX_VALUE:
        raise BoundExceeded(
            f"the {name} filter was given a value of more than {MAX_VALUE} characters or items"
        )


def _bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def bounded(*args: Any, **kwargs: Any) -> Any:
        _budget().step()
        # a filter passed a context, eval context or environment gets it first: skip it
        offset = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0
        _filter_checks(name, args[offset:], kwargs)
        return _checked(function(*args, **kwargs), f"the {name} filter")

    return update_wrapper(bounded, function)


_AMPLIFYING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs", "replace", "join"})


def _method_checks(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    owner = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if not isinstance(owner, str) or name not in _AMPLIFYING_METHODS:
        return
    what = f"str.{name}"
    if name in ("center", "ljust", "rjust", "zfill") and args:
        _width(args[0], what)
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        _width(size, what)
        if isinstance(size, int):
            _refuse_over(len(owner) + owner.count("\t") * max(size, 0), what)
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        hits = owner.count(args[0]) if args[0] else len(owner) + 1
        _refuse_over(len(owner) + hits * len(args[1]), what)
    elif name == "join" and args and isinstance(args[0], (list, tuple, str)):
        _refuse_over(weight(args[0]) + len(args[0]) * len(owner), what)


def _bounded_range(*args: Any) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise BoundExceeded(f"range() gives at most {MAX_RANGE} numbers; this one {len(numbers)}")
    return numbers


# ---------------------------------------------------------------- hooks the compiled template calls


@pass_context
def _counted(_context: Context, iterable: Iterable[Any]) -> Iterator[Any]:
    """A loop's iterable, one budget step per iteration (nested loops share the budget)."""
    budget = _budget()
    for item in iterable:
        budget.step()
        yield item


@pass_context
def _produced(_context: Context, value: Any, chars: int = 0) -> Any:
    """The literal text of an output node: ``chars`` charged each time the node runs (in a loop, a
    macro, a captured block alike); outputs nothing."""
    _budget().produce(chars)
    return value


@pass_context
def _value(_context: Context, value: Any) -> Any:
    return _checked(value, "'~'")


@pass_context
def _finalize(_context: Context, value: Any) -> Any:
    """Every printed value: weighed before it is turned into text, and charged."""
    if weight(value) > MAX_VALUE:
        raise BoundExceeded(f"a printed value has more than {MAX_VALUE} characters or items")
    _budget().produce(len(value) if isinstance(value, str) else len(str(value)))
    return value


_HOOKS = {"lf_counted": _counted, "lf_produced": _produced, "lf_value": _value}


def _hook(name: str, node: nodes.Node, *args: Any) -> nodes.Filter:
    node_args: list[nodes.Expr] = [nodes.Const(arg, lineno=node.lineno) for arg in args]
    return nodes.Filter(node, name, node_args, [], None, None, lineno=node.lineno)


def _instrument(node: nodes.Node) -> nodes.Node:
    """The template's tree with the hooks in: every loop's iterable counted, every ``~`` weighed,
    every output node charged its literal text."""
    for name in node.fields:
        child = getattr(node, name, None)
        if isinstance(child, nodes.Node):
            setattr(node, name, _instrument(child))
        elif isinstance(child, list):
            setattr(
                node, name, [_instrument(item) if isinstance(item, nodes.Node) else item for item in child]
            )
    if isinstance(node, nodes.For):
        node.iter = _hook("lf_counted", node.iter)
    elif isinstance(node, nodes.Concat):
        return _hook("lf_value", node)
    elif isinstance(node, nodes.Output):
        literal = sum(len(child.data) for child in node.nodes if isinstance(child, nodes.TemplateData))
        if literal:
            node.nodes.insert(0, _hook("lf_produced", nodes.Const("", lineno=node.lineno), literal))
    return node


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox with the bounds above. ``ChainableUndefined``: a missing field renders
    empty (or its ``default``), never an error."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, autoescape: bool) -> None:
        super().__init__(autoescape=autoescape, undefined=ChainableUndefined, finalize=_finalize)
        for name in ("lipsum", "cycler", "joiner"):
            self.globals.pop(name, None)
        self.globals["range"] = _bounded_range
        self.filters = {name: _bounded_filter(name, function) for name, function in self.filters.items()}
        self.filters.update(_HOOKS)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        _instrument(tree)
        return tree

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _budget().step()
        _check_binop(operator, left, right)
        return _checked(super().call_binop(context, operator, left, right), f"'{operator}'")

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _budget().step()
        _method_checks(__obj, args, kwargs)
        return _checked(super().call(__context, __obj, *args, **kwargs), "a call")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format_string(value.__self__, f"str.{value.__name__}")
        return wrapped

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        """An attribute the sandbox refuses (``''.__class__``) is an error, not an empty value: the
        template is refused on save (422) instead of saving something that renders nothing."""
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} is not allowed")
