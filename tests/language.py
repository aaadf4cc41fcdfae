"""Is a page's visible text in the page's language? Shared by the browser journeys and the language sweep.

English pages: no Chinese characters besides the data strings given (user data and one-language reference data) and
the language switch ("中文"). Chinese pages: no English phrase of two words or more and no raw lower-case code (an enum
value such as "invention" or "in_disposal", an audit action such as "ip.registered"), besides the data strings and
e-mail addresses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser

CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]+")
EMAIL = re.compile(r"\S+@\S+")
ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ ,'-]+[A-Za-z]{2,})+|\b[a-z][a-z_]+\.[a-z_]+\b|\b[a-z][a-z_]{2,}\b"
                     r"|\b[a-z]+_[a-z0-9_]+\b")  # the last: a code with digits ("lpr_1y")
# Names of formats and standards that Chinese text uses as they are, and the API's token scopes where a label names them
# ("read：查询专利……").
TECHNICAL = re.compile(r"\b(?:JSON Lines|JSON|CSV|Excel|IPC|API|OpenAPI|WIPO|GB/T)\b|\b(?:read|write)(?=：)")


def leaks(text: str, lang: str, data: Iterable[str]) -> set[str]:
    """The pieces of `text` that are not in `lang` ("en" or "zh_CN"), data strings excepted."""
    data = sorted({d for d in data if d}, key=len, reverse=True)
    if lang == "en":
        for d in data:
            if CJK.search(d):
                text = text.replace(d, " ")
        return set(CJK.findall(text)) - {"中文"}
    text = TECHNICAL.sub(" ", EMAIL.sub(" ", text))
    for d in data:
        if len(d) > 2 and re.search(r"[A-Za-z]{2}", d):
            text = text.replace(d, " ")
    return {p for p in ENGLISH.findall(text) if not any(p in d for d in data)}


class _Visible(HTMLParser):
    """Text a person sees: no <script>, <style>, <textarea> contents (a typed value), no attributes; <code> holds
    identifiers shown as such (an API path, an audit code in the staff log) and is left out too."""

    HIDDEN = {"script", "style", "textarea", "template", "code"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in {"br", "p", "div", "td", "th", "li", "dt", "dd", "tr", "option", "h1", "h2", "h3", "label"}:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1
        else:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts)
