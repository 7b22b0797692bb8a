"""PII masking: e-mail addresses, US phone numbers and IPv4 addresses.

Each function returns ``(masked_text, count)``. The mask strings contain no ``@``, no digits and no
dots, so masking already-masked text finds nothing new: a mask is never counted twice. The patterns
match only the PII itself, so punctuation around it (brackets, a full stop) stays in place.
"""

from __future__ import annotations

import re

EMAIL_MASK = "|||EMAIL_ADDRESS|||"
PHONE_MASK = "|||PHONE_NUMBER|||"
IP_MASK = "|||IP_ADDRESS|||"

# The domain must end in a dot plus letters, so a sentence-ending "." after an address is left out
# (the greedy domain part backtracks to the last ".tld").
_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b"
)

# US numbers: optional +1 country code, a 3-digit area code (bare or in parentheses), then 3 and 4
# digits, separated by nothing, one space, one dash or one dot ("(283)-182-3829" mixes both forms).
# The lookarounds stop a match inside a longer digit run (an order number, a credit card).
_PHONE = re.compile(r"(?<![\w+])(?:\+?1[-.\s]?)?(?:\(\d{3}\)[-.\s]?|\d{3}[-.\s]?)\d{3}[-.\s]?\d{4}(?![\w])")
# The "(" of "(283)" is not a word character, so a match may start right after a letter-free boundary.
_PHONE_PAREN_START = re.compile(r"(?:\+?1[-.\s]?)?\(\d{3}\)[-.\s]?\d{3}[-.\s]?\d{4}(?!\w)")

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# No digit or dot-digit on either side: "1.2.3.4.5" and "999.1.1.1" are not addresses, while
# "at 10.0.0.1." keeps its final full stop.
_IPV4 = re.compile(rf"(?<![\d.])(?<!\d\.){_OCTET}(?:\.{_OCTET}){{3}}(?!\d)(?!\.\d)")


def _mask(patterns: tuple[re.Pattern, ...], mask: str, text: str) -> tuple[str, int]:
    # Repeat until nothing matches: a mask can free a neighbour that the lookbehind blocked
    # ("2831823829+12831823829"), and masking must be idempotent.
    total = 0
    for _ in range(8):
        found = 0
        for pattern in patterns:
            text, n = pattern.subn(mask, text)
            found += n
        total += found
        if not found:
            break
    return text, total


def mask_emails(text: str) -> tuple[str, int]:
    """Replace every e-mail address with ``|||EMAIL_ADDRESS|||``."""
    return _mask((_EMAIL,), EMAIL_MASK, text)


def mask_phone_numbers(text: str) -> tuple[str, int]:
    """Replace US phone numbers (``2831823829``, ``(283)-182-3829``, ``283-182-3829``, ...)."""
    return _mask((_PHONE_PAREN_START, _PHONE), PHONE_MASK, text)


def mask_ips(text: str) -> tuple[str, int]:
    """Replace IPv4 addresses (each of the four numbers at most 255)."""
    return _mask((_IPV4,), IP_MASK, text)


def mask_pii(text: str) -> tuple[str, dict[str, int]]:
    """All three masks in turn; returns the text and a count per kind."""
    text, e = mask_emails(text)
    text, p = mask_phone_numbers(text)
    text, i = mask_ips(text)
    return text, {"emails": e, "phone_numbers": p, "ips": i}
