"""Text on its way to a terminal: control characters from data become visible escapes."""

from __future__ import annotations

import re

__all__ = ["terminal_safe"]

# C0 and C1 control characters (ESC starts colour, cursor and OSC sequences; CSI is 0x9b), DEL,
# Unicode's line and paragraph separators and its bidirectional controls (text shown reversed).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str, *, keep: str = "") -> str:
    r"""``text`` with every control character written as an escape, except those in ``keep``.

    Column, category and model names come from data; printed raw, an escape sequence in one
    could recolour the terminal, move the cursor, set its title or hide the real output.

    >>> print(terminal_safe("col\x1b]0;pwned\x07 \u202eabc\nnext"))
    col\x1b]0;pwned\x07 \u202eabc\nnext
    >>> print(terminal_safe("two\nlines", keep="\n"))
    two
    lines
    """

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if char in keep:
            return char
        code = ord(char)
        named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char)
        return named or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")

    return _CONTROL.sub(escape, text)


def has_control(text: str) -> bool:
    r"""Whether ``text`` holds a character :func:`terminal_safe` would escape (a newline too).

    >>> has_control("EUR"), has_control("E\nUR"), has_control("€ (k)")
    (False, True, False)
    """
    return _CONTROL.search(text) is not None
