"""What a user types in a search box, as the terms every list's search applies the same way.

- Case and ё are folded: the stored search text is folded by the database's
  search_fold() (migration 0016), a term here by fold(); "Петр" finds "Пётр".
- Words match in any order and each must match: "Dmitry Kovalsky" and
  "Kovalsky Dmitry" find the same cards.
- A run of words that looks like (part of) a phone number is one term, matched
  by its digits and by the digits of the number normalised the way stored
  numbers are: "8 (909) 632-02-28" and "89096320228" find +79096320228, and
  "632-02" still finds it.

A term is a tuple of alternatives (substrings, any of which matches); a search
matches what matches every term.
"""

from __future__ import annotations

import re

import phonenumbers

from crm.defaults import DEFAULT_REGION
from crm.phones import caller_match_key

# A shorter word narrows nothing and cannot use a trigram index: it is left out (unless all are).
MIN_WORD = 2
# Digits shorter than this match almost any number.
MIN_DIGITS = 3
_PHONE_WORD = re.compile(r"[\d()+\-./]+")


def fold(text: str) -> str:
    """The folded form of text, as search_fold() in the database computes it."""
    return text.lower().replace("ё", "е")


Term = tuple[str, ...]


def search_terms(q: str, default_region: str = DEFAULT_REGION) -> list[Term]:
    """The terms of a search; an empty list means no search (show everything)."""
    words = fold(q.replace("\x00", " ")).split()
    if not words:
        return []
    whole = " ".join(words)
    # The whole text is one number, as normalize_phone reads numbers ("8 495 123-45-67" and what else it accepts).
    if any(ch.isdigit() for ch in whole) and caller_match_key(whole, default_region) is not None:
        return [_phone_term(whole, default_region)]
    terms: list[Term] = []
    run: list[str] = []
    for word in [*words, ""]:
        if word and _PHONE_WORD.fullmatch(word) and any(ch.isdigit() for ch in word):
            run.append(word)
            continue
        if run:
            terms.append(_phone_term(" ".join(run), default_region))
            run = []
        if word:
            terms.append((word,))
    kept = [t for t in terms if max(len(a) for a in t) >= MIN_WORD]
    # Only short words ("a b"): the text as typed, as one piece.
    return _unique(kept) if kept else [(whole,)]


def _phone_term(text: str, default_region: str) -> Term:
    alternatives = [text]
    if not _PHONE_WORD.fullmatch(text.replace(" ", "")):
        # More than a number ("... доб. 123"): the typed digits would run the extension into the number.
        digits = ""
    else:
        digits = re.sub(r"\D", "", text)
    if len(digits) >= MIN_DIGITS:
        alternatives.append(digits)
        if digits.startswith("00") and len(digits) - 2 >= MIN_DIGITS:
            alternatives.append(digits[2:])  # 00 is the international prefix, as "+"
    key = caller_match_key(text, default_region)
    if key and re.fullmatch(r"\+\d+", key):
        alternatives.append(key[1:])
    else:  # not a whole number (or a short one, which normalize_phone keeps as an internal number)
        national = _national_to_international(text, digits, default_region)
        if national:
            alternatives.append(national)
    return _smallest(alternatives)


def _national_to_international(text: str, digits: str, default_region: str) -> str | None:
    """The start of a number written with the national prefix ("8 (909) 63" -> "790963"), for partial numbers.

    Only when the text plainly begins with that prefix: a separator right after it, or seven digits or more.
    """
    meta = phonenumbers.PhoneMetadata.metadata_for_region(default_region.upper())
    prefix = meta.national_prefix if meta else None
    if meta is None or not prefix or not text.startswith(prefix) or not digits.startswith(prefix):
        return None
    rest = text[len(prefix):]
    if not (len(digits) >= 7 or (rest[:1] in (" ", "(", "-", ".", "/"))):
        return None
    converted = f"{meta.country_code}{digits[len(prefix):]}"
    return converted if len(converted) > len(str(meta.country_code)) + 1 else None


def _smallest(alternatives: list[str]) -> Term:
    """Alternatives without the ones another alternative is part of (they would match nothing more)."""
    unique = list(dict.fromkeys(a for a in alternatives if a))
    return tuple(a for a in unique if not any(b != a and b in a for b in unique))


def _unique(terms: list[Term]) -> list[Term]:
    return list(dict.fromkeys(terms))
