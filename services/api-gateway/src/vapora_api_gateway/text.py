"""The one rule for text the gateway takes in: no U+0000 and no lone surrogate.

SurrealDB stores a string holding U+0000 but cannot hand it back: every later read of the row
fails, and with it every list the row is in. A lone surrogate (JSON can carry one, ``"\\ud800"``)
is not Unicode text and cannot be encoded as UTF-8 at all. So every string a client sends is
checked once, at the edge — bodies by :class:`vapora_api_gateway.models.Body`, query, header and
path parameters by :mod:`vapora_api_gateway.routes` — and refused with the field named. Where
refusing would lose a record (the audit entry of a refused request whose path holds ``%00``),
the text is kept with those characters escaped instead (:func:`escape`).

Other control characters are valid text and stay: a description may hold tabs and newlines.
"""

from __future__ import annotations

import re

_FLAWED = re.compile("[\x00\ud800-\udfff]")

# The rule as a JSON-Schema pattern (documented on every string of a request body and on every
# parameter). Read with Python's re, as the gateway and Python clients do, a lone surrogate never
# matches; read as an ECMA-262 regex without the u flag (UTF-16 code units), a surrogate pair —
# one astral character — still does, by the second branch.
PATTERN = r"^(?:[^\u0000\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$"
# A string that must not be blank holds at least one character that is not white space
# (str.strip() removes exactly the characters re's \s matches).
NOT_BLANK = r"\S"


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
