"""Reading one cookie out of a ``Cookie`` header and writing ``Set-Cookie``.

Only our own cookies are ever looked at, so this is not a general cookie
parser: it finds every occurrence of one name, which lets the caller treat
a header that names our cookie twice (a sign of cookie tossing from a
sibling domain) as no session at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._settings import Settings

__all__ = ["MAX_COOKIE_SIZE", "CookieJar", "find_cookie"]

#: Browsers keep at most about 4 KiB per cookie; anything longer was not
#: issued by us and is not worth verifying.
MAX_COOKIE_SIZE = 4096

#: Marks a cookie value that occurred more than once in one header.
DUPLICATE = "\x00duplicate"


def cookie_pattern(name: str) -> re.Pattern[str]:
    """A pattern that finds the value of cookie *name* in a Cookie header."""
    return re.compile(r"(?:^|;)\s*" + re.escape(name) + r"=([^;]*)")


def find_cookie(header: str, pattern: re.Pattern[str]) -> str | None:
    """Return the one value *pattern* names in *header*.

    ``None`` when it is absent, :data:`DUPLICATE` when it is there twice.
    """
    found = pattern.findall(header)
    if not found:
        return None
    if len(found) > 1:
        return DUPLICATE
    value: str = found[0].strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value


@dataclass(frozen=True, slots=True)
class CookieJar:
    """Formats the ``Set-Cookie`` values for one cookie name and settings."""

    name: str
    attributes: str

    @classmethod
    def for_settings(cls, name: str, settings: Settings) -> CookieJar:
        """Build the attribute string once, from the cookie settings."""
        parts = [f"Path={settings.cookie_path}", "HttpOnly"]
        if settings.cookie_domain:
            parts.append(f"Domain={settings.cookie_domain}")
        if settings.cookie_secure:
            parts.append("Secure")
        parts.append(f"SameSite={settings.cookie_samesite.capitalize()}")
        return cls(name=name, attributes="; ".join(parts))

    def set(self, value: str, max_age: int) -> str:
        """A ``Set-Cookie`` value that stores *value* for *max_age* seconds."""
        return f"{self.name}={value}; Max-Age={max_age}; {self.attributes}"

    def clear(self) -> str:
        """A ``Set-Cookie`` value that makes the browser drop the cookie."""
        return (
            f"{self.name}=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
            f"{self.attributes}"
        )
