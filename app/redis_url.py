"""The Redis URL with the password of ``LLMJOBS_REDIS_PASSWORD_FILE`` in it, and the same URL fit for a log line."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from app.errors import ConfigError


def with_password(url: str, password_file: str) -> str:
    """``LLMJOBS_REDIS_URL`` with the password read from ``LLMJOBS_REDIS_PASSWORD_FILE`` (if set)."""
    if not password_file:
        return url
    try:
        password = Path(password_file).expanduser().read_text().strip()
    except OSError as exc:
        raise ConfigError("LLMJOBS_REDIS_PASSWORD_FILE", f"cannot be read: {exc.strerror or exc}") from None
    if not password:
        raise ConfigError("LLMJOBS_REDIS_PASSWORD_FILE", "is empty")
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return urlunsplit(parts._replace(query="&".join(filter(None, [parts.query, f"password={quote(password, safe='')}"]))))
    user = quote(unquote(parts.username), safe="") if parts.username else ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


def redacted(url: str) -> str:
    """A Redis URL fit for a log line: its password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None and "password=" not in parts.query:
        return url
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username or ''}:***@{host}" if parts.password is not None else parts.netloc
    query = "&".join("password=***" if item.startswith("password=") else item for item in parts.query.split("&") if item)
    return urlunsplit(parts._replace(netloc=netloc, query=query))
