"""The one text analysis shared by every search backend, for documents and queries alike.

Rules:

* formatting tags are stripped: inline ones such as ``<sub>`` join their neighbours (``LiFePO<sub>4</sub>``
  gives ``lifepo4``), ``<br>``/``<p>``/``<div>`` become spaces; any other ``<...>``, e.g. ``<script>``, stays
  literal text, so highlighting shows it escaped; entities are unescaped;
* text is NFKC-normalised and lower-cased;
* each run of CJK characters becomes overlapping bigrams (a run of one character stays a unigram);
* other letters and digits form words, split at anything else (``li-ion`` gives ``li``, ``ion``);
* English plurals are folded by the minimal rules of Lucene's ``EnglishMinimalStemmer`` (ASCII-letter words of
  3+ letters: ``batteries`` → ``battery``, ``means`` → ``mean``, not ``-ss``/``-us``), so the English IPC titles
  (``…e.g. BATTERIES…``) match a query for ``battery``.

* patent numbers and codes become one token each, whatever form people paste (documents and queries alike):

  - an IPC group with or without spaces, ``H01M10/052``, ``H01M 10/052``, ``h01m 10 / 052`` → ``h01m10s052``
    (``s`` stands for the slash); a subclass ``H01M`` or main group ``H01M10`` is an ordinary word;
  - a CNIPA application number, with or without ``CN``/``ZL``, dot and check character → its 12-digit (or 8-digit)
    body: ``CN201710106452.1``, ``201710106452.1``, ``2017101064521``, ``201710106452`` → ``201710106452``
    (a bare number needs all 12 digits; the old 8-digit form needs its dot or prefix);
  - a publication number ``CN118193476B`` is an ordinary word (``cn118193476b``).

Tokens only ever hold letters and digits, so a whitespace split of :func:`analyzed` gives :func:`tokens` back.
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache

__all__ = ["Token", "analyzed", "plain_text", "spans", "tokens", "unique"]

_CJK = (
    "\u2e80-\u2fdf\u3005\u3007\u3021-\u3029\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
# Tried before words at each position (on the normalised, lower-case text). A code is not glued to ASCII letters or
# digits on either side (Chinese around it is fine: 申请号2017101064521的).
_IPC = r"[a-h]\d{2}[a-z] ?\d{1,4} ?/ ?\d{1,6}"
_APPNO = r"(?:cn|zl)?(?:\d{12}|\d{8})\.[0-9x]|(?:cn|zl)(?:\d{12}|\d{8})[0-9x]?|\d{12}[0-9x]?"
_PIECE = re.compile(rf"(?<![a-z0-9])(?:(?P<ipc>{_IPC})|(?P<appno>{_APPNO}))(?![a-z0-9])"
                    rf"|(?P<cjk>[{_CJK}]+)|(?P<word>[^\W_{_CJK}]+)")


def _code(kind: str, text: str) -> str:
    """The one token of an IPC group or an application number (see the module docstring)."""
    if kind == "ipc":
        return text.replace(" ", "").replace("/", "s")
    body = text.removeprefix("cn").removeprefix("zl").split(".")[0]
    return body[:12] if len(body) >= 12 else body[:8]
_INLINE_TAG = re.compile(r"</?(?:sub|sup|i|b|em|strong|span|u|small|font)(?:\s[^<>]*)?/?>", re.IGNORECASE)
_BLOCK_TAG = re.compile(r"</?(?:br|p|div)(?:\s[^<>]*)?/?>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Token:
    """One token and where it came from in :func:`plain_text` of the input (``start``/``end`` offsets)."""

    text: str
    start: int
    end: int


def plain_text(text: str) -> str:
    """Return ``text`` without formatting tags, entities unescaped: what highlighting shows and offsets refer to."""
    if "<" in text:
        text = _BLOCK_TAG.sub(" ", _INLINE_TAG.sub("", text))
    if "&" in text:
        text = html.unescape(text)
    return text


def _normalise(text: str) -> tuple[str, list[int]]:
    """NFKC + lower-case ``text`` cluster by cluster, with a map from each output char to its input offset.

    Reference implementation; :func:`_fast_norm` gives the same string in one ``str.translate`` pass whenever
    every cluster is a single character (no combining marks), which is nearly always.
    """
    out: list[str] = []
    origin: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        norm = unicodedata.normalize("NFKC", text[i:j]).lower()
        out.append(norm)
        origin.extend([i] * len(norm))
        i = j
    origin.append(n)
    return "".join(out), origin


class _CharTable(dict):
    """``ord(c) → NFKC(c).lower()`` for ``str.translate``, filled on first sight of each character."""

    def __missing__(self, code: int) -> str:
        value = self[code] = unicodedata.normalize("NFKC", chr(code)).lower()
        return value


_CHARS = _CharTable()


@cache
def _combining() -> re.Pattern[str]:
    """Every character with a non-zero canonical combining class (built once, ~0.2 s)."""
    marks = "".join(re.escape(chr(c)) for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c)))
    return re.compile(f"[{marks}]")


def _stem(word: str) -> str:
    """Lucene's EnglishMinimalStemmer (plural -s/-es/-ies) on ASCII-letter words; anything else unchanged."""
    n = len(word)
    if n < 3 or word[-1] != "s" or not (word.isascii() and word.isalpha()):
        return word
    before = word[-2]
    if before in "us":
        return word
    if before == "e":
        if n > 3 and word[-3] == "i" and word[-4] not in "ae":
            return word[:-3] + "y"
        if word[-3] in "iaoe":
            return word
    return word[:-1]


def _fast_norm(text: str) -> tuple[str, bool] | None:
    """``(normalised text, one output char per input char?)`` without per-character Python work, or None when
    ``text`` holds combining marks (clusters of several characters: use :func:`_normalise`)."""
    if text.isascii():
        return text.lower(), True
    if _combining().search(text):
        return None
    norm = text.translate(_CHARS)
    # NFKC and lower() never delete a character, so equal lengths mean each char mapped to exactly one
    return norm, len(norm) == len(text)


def spans(text: str) -> list[Token]:
    """Analyse ``text`` (after :func:`plain_text`) into tokens with offsets into the plain text."""
    plain = plain_text(text)
    fast = _fast_norm(plain)
    if fast is not None and fast[1]:
        norm = fast[0]
        result: list[Token] = []
        for match in _PIECE.finditer(norm):
            start, end = match.span()
            if match.lastgroup == "word":
                result.append(Token(_stem(norm[start:end]), start, end))
            elif match.lastgroup in ("ipc", "appno"):
                result.append(Token(_code(match.lastgroup, norm[start:end]), start, end))
            elif end - start == 1:
                result.append(Token(norm[start:end], start, end))
            else:
                result.extend(Token(norm[k : k + 2], k, k + 2) for k in range(start, end - 1))
        return result
    norm, origin = _normalise(plain)

    def end_of(k: int) -> int:
        # The input offset just after normalised char k-1: the start of the next input cluster.
        return next((origin[m] for m in range(k, len(origin)) if origin[m] != origin[k - 1]), len(plain))

    result = []
    for match in _PIECE.finditer(norm):
        start, end = match.span()
        if match.lastgroup == "word":
            result.append(Token(_stem(norm[start:end]), origin[start], end_of(end)))
        elif match.lastgroup in ("ipc", "appno"):
            result.append(Token(_code(match.lastgroup, norm[start:end]), origin[start], end_of(end)))
        elif end - start == 1:
            result.append(Token(norm[start:end], origin[start], end_of(end)))
        else:
            for k in range(start, end - 1):
                result.append(Token(norm[k : k + 2], origin[k], end_of(k + 2)))
    return result


def tokens(text: str) -> list[str]:
    """Return the tokens of ``text`` in order (documents and queries go through this same function)."""
    plain = plain_text(text)
    fast = _fast_norm(plain)
    norm = fast[0] if fast is not None else _normalise(plain)[0]
    result: list[str] = []
    for match in _PIECE.finditer(norm):
        piece = match.group()
        if match.lastgroup == "word":
            result.append(_stem(piece))
        elif match.lastgroup in ("ipc", "appno"):
            result.append(_code(match.lastgroup, piece))
        elif len(piece) == 1:
            result.append(piece)
        else:
            result.extend([piece[k : k + 2] for k in range(len(piece) - 1)])
    return result


@lru_cache(maxsize=32768)
def analyzed(text: str) -> str:
    """Return the tokens of ``text`` joined by single spaces: the form both engines index and split on spaces.

    Cached: documents repeat many texts (the IPC titles of a subclass, applicants), which a reindex then
    analyses once.
    """
    return " ".join(tokens(text))


def unique(items: list[str]) -> list[str]:
    """Return ``items`` without repeats, first occurrence kept (query tokens are counted once)."""
    return list(dict.fromkeys(items))
