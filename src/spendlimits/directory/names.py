"""The rules for names and free text the directory stores, in one place.

Usernames, organization names and group names share one pattern: they end up in URLs, logs and
command lines, so they are kept to letters, digits and a few separators.
"""

import re

from spendlimits.errors import DomainError

NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?")
NAME_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting and ending with a letter or digit"


def check_name(value: str, what: str, field: list[str]) -> str:
    """``value`` when it follows NAME_RULE, else INVALID_INPUT naming ``what`` (e.g. "Username")."""
    # fullmatch, not match with "$": "$" also matches before a trailing newline.
    if not NAME.fullmatch(value):
        raise DomainError("INVALID_INPUT", f"{what} must be {NAME_RULE}.", field)
    return value


def check_text(value: str, what: str, maximum: int, field: list[str]) -> str:
    """Free text (display names, titles, URLs): at most ``maximum`` characters, no control characters."""
    if len(value) > maximum:
        raise DomainError("INVALID_INPUT", f"{what} must be at most {maximum} characters.", field)
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise DomainError("INVALID_INPUT", f"{what} must not contain control characters.", field)
    return value
