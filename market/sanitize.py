"""Text that is safe to keep and to hand out: control characters are stripped where a request is parsed (every form
field, query parameter and JSON string of every view and API schema), and spreadsheet cells cannot start a formula.

- Control characters (C0 other than tab, line feed and carriage return; DEL; C1) have no place in the market's text
  and some are not allowed in XML at all: one stored purpose with "\\x0b" made the bulletin's Atom feed unparseable.
  `CleanRequest` (the app's request class) removes them from form data and query strings as they are parsed, and
  from the escapes of a JSON body before any parser reads it, so no view or schema can forget.
- Formula injection (CSV/XLSX): a cell starting with = + - @ (or tab / carriage return, or their full-width forms)
  is run as a formula by spreadsheet programs; `spreadsheet_safe` prefixes such text with a quote (OWASP) and every
  export writes its text cells through it. Numbers are left alone (a negative amount is not text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The same characters written as JSON escapes (\u000b, \b, \f ...), not preceded by an escaped backslash.
_JSON_CONTROL = re.compile(
    rb"(?<!\\)((?:\\\\)*)\\(?:[bf]|u00(?:0[0-8]|0[bBcCeEfF]|1[0-9a-fA-F]|7[fF]|[89][0-9a-fA-F]))"
)
_JSON_RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def strip_controls(text: str) -> str:
    """The text without control characters (tab, line feed and carriage return stay)."""
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text


def spreadsheet_safe(value):
    """A cell for a CSV or XLSX export: text that a spreadsheet would run as a formula gets a leading quote.
    Anything that is not text (numbers, dates, None) is returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def spreadsheet_row(values: Iterable) -> list:
    return [spreadsheet_safe(value) for value in values]


class CleanMultiDict(ImmutableMultiDict):
    """Form data and query strings with control characters stripped from every value (files are left alone)."""

    def __init__(self, mapping=None):
        if mapping is None:
            super().__init__()
            return
        if isinstance(mapping, MultiDict):
            pairs = list(mapping.items(multi=True))
        elif isinstance(mapping, dict):
            pairs = [(k, v) for k, values in mapping.items()
                     for v in (values if isinstance(values, (list, tuple)) else [values])]
        else:
            pairs = list(mapping)
        super().__init__([(k, strip_controls(v) if isinstance(v, str) else v) for k, v in pairs])


class CleanRequest(Request):
    parameter_storage_class = CleanMultiDict

    def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False):
        data = super().get_data(cache=cache, as_text=False, parse_form_data=parse_form_data)
        if self.is_json and isinstance(data, bytes) and (_JSON_CONTROL.search(data) or _JSON_RAW_CONTROL.search(data)):
            data = _JSON_RAW_CONTROL.sub(b"", _JSON_CONTROL.sub(rb"\1", data))
            if cache:
                self._cached_data = data
        return data.decode(errors="replace") if as_text else data
