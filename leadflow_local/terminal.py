"""Values people typed, made safe to print on an operator's terminal.

A name, topic or hand-off subject comes from an anonymous visitor. Printed as is, control characters
(ESC sequences, C1 controls, BEL) would drive the operator's terminal (set its title, clear it, hide
text), bidirectional overrides would reorder what is shown, and ``[...]`` would be read as rich markup
(links, styles). :func:`printable` shows every such character as an escape (``\\x1b``, ``\\u202e``);
:func:`markup_safe` also escapes rich markup, for text that goes through rich."""

from __future__ import annotations

import unicodedata
from typing import Any

#: Format characters that reorder or hide text (bidi embeddings, overrides and isolates, and the
#: invisible marks a terminal shows as nothing).
_REORDERING = frozenset(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
)


def _escape(char: str) -> str:
    code = ord(char)
    if char == "\t":
        return "\\t"
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(value: Any) -> str:
    """``value`` as text with every control (C0, DEL, C1) and reordering character escaped."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable() and not any(c in _REORDERING for c in text):
        return text
    return "".join(_escape(c) if unicodedata.category(c) == "Cc" or c in _REORDERING else c for c in text)


def markup_safe(value: Any) -> str:
    """:func:`printable`, and rich markup (``[red]``, ``[link=...]``) escaped: printed as typed."""
    from rich.markup import escape

    return escape(printable(value))
