"""The one rule for text the gateway takes in: no U+0000 and no lone surrogate.

SurrealDB stores a string holding U+0000 but cannot hand it back: every later read of the row
fails, and with it every list the row is in. A lone surrogate (JSON can carry one, ``"\\ud800"``)
is not Unicode text and cannot be encoded as UTF-8 at all. So every string a client sends is
checked once, at the edge — bodies by :class:`vapora_api_gateway.models.Body`, query, header and
path parameters by :mod:`vapora_api_gateway.routes` — and refused with the field named. Where
refusing would lose a record (the audit entry of a refused request whose path holds ``%00``),
the text is kept with those characters escaped instead (:func:`escape`).

Other control characters are valid text and stay: a description may hold tabs and newlines.
Surrounding white space is stripped from most strings (:class:`~vapora_api_gateway.models.Body`);
"white space" is exactly what ``str.strip()`` removes, spelled out in :data:`WHITESPACE`.
"""

from __future__ import annotations

import re

_FLAWED = re.compile("[\x00\ud800-\udfff]")

# White space as str.strip() and str.isspace() know it, spelled out: regex engines disagree on \s
# (Rust's and ECMA's Unicode sets differ from Python's; schemathesis draws with re.ASCII).
WHITESPACE = r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# The rule as JSON-Schema patterns, read the same by Python's re, Rust's regex and ECMA-262.
# A lone surrogate cannot be written in a pattern every engine reads (Rust's strings are UTF-8),
# so the document states that part of the rule in words (docs/api.md); it is enforced all the same.
PATTERN = r"^[^\u0000]*$"
# The same, for a string that must not be blank: at least one character that is not white space.
NOT_BLANK = rf"^[^\u0000]*[^\u0000{WHITESPACE}][^\u0000]*$"


def flaw(text: str) -> str | None:
    """What breaks the rule in ``text`` (the first offending character and where), or None."""
    found = _FLAWED.search(text)
    if found is None:
        return None
    char = found.group()
    what = "U+0000 (NUL)" if char == "\x00" else f"a lone surrogate (U+{ord(char):04X})"
    return f"contains {what} at character {found.start()}; text must not hold U+0000 or lone surrogates"


def escape(text: str) -> str:
    """``text`` with U+0000 and lone surrogates written as ``\\u0000``-style escapes."""
    if _FLAWED.search(text) is None:
        return text
    return _FLAWED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
