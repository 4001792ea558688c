"""Reading one cookie out of a ``Cookie`` header and writing ``Set-Cookie``.

Only our own cookies are ever looked at, so this is not a general cookie
parser: it finds every occurrence of one name, which lets the caller treat
a header that names our cookie twice (a sign of cookie tossing from a
sibling domain) as no session at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._settings import Settings

__all__ = ["MAX_COOKIE_SIZE", "CookieJar", "find_cookie"]

#: Browsers keep at most about 4 KiB per cookie; anything longer was not
#: issued by us and is not worth verifying.
MAX_COOKIE_SIZE = 4096

#: First or last characters that make a value worth stripping or unquoting.
_PADDED = frozenset(' \t"')

#: Marks a cookie value that occurred more than once in one header.
DUPLICATE = "\x00duplicate"


def cookie_pattern(name: str) -> str:
    """The key that finds cookie *name* in a Cookie header (``name=``)."""
    return name + "="


def find_cookie(header: str, key: str) -> str | None:
    """Return the one value of the cookie *key* names in *header*.

    ``None`` when it is absent, :data:`DUPLICATE` when it is there twice.
    Plain string searches, not a regex: this runs on every request.
    """
    position = header.find(key)
    if position < 0:
        return None
    found: str | None = None
    while position >= 0:
        # Only a name at the start of a pair counts: "xy2w_session=" is
        # another cookie whose name merely ends like ours.
        if position == 0 or header[position - 1] in "; \t":
            if found is not None:
                return DUPLICATE
            start = position + len(key)
            end = header.find(";", start)
            found = header[start:] if end < 0 else header[start:end]
        position = header.find(key, position + len(key))

    if found is None:
        return None
    if found[:1] in _PADDED or found[-1:] in _PADDED:
        found = found.strip()
        if len(found) >= 2 and found[0] == found[-1] == '"':
            found = found[1:-1]
    return found


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
