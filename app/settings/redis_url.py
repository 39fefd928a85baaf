"""``LLMJOBS_REDIS_URL``: the password of ``LLMJOBS_REDIS_PASSWORD_FILE`` put in it, the same URL fit for a log line,
and kombu's Sentinel form (``sentinel://h1:26379;sentinel://h2:26379/0``) taken apart.

In the Sentinel form the userinfo (``sentinel://:password@h1:26379;...``) is the password of the Redis master
and its replicas, as kombu reads it; the sentinels themselves are asked without one unless
``LLMJOBS_REDIS_SENTINEL_PASSWORD_FILE`` gives theirs (a sentinel with no ``requirepass`` refuses an AUTH).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from app.errors import ConfigError

SENTINEL_SCHEME = "sentinel"
SENTINEL_PORT = 26379  # the sentinels' usual port, as kombu defaults it


@dataclass(frozen=True)
class SentinelURL:
    """The sentinels to ask for the master, the database number, and the master's credentials."""

    hosts: tuple[tuple[str, int], ...]
    db: int = 0
    username: str | None = None
    password: str | None = None

    def kombu_url(self) -> str:
        """The form kombu reads: it takes the database and credentials from the first segment only, so every one carries them."""
        userinfo = ""
        if self.password is not None:
            userinfo = f"{quote(self.username or '', safe='')}:{quote(self.password, safe='')}@"
        elif self.username:
            userinfo = f"{quote(self.username, safe='')}@"
        return ";".join(f"{SENTINEL_SCHEME}://{userinfo}{_netloc_host(host)}:{port}/{self.db}" for host, port in self.hosts)


def is_sentinel(url: str) -> bool:
    return url.startswith(f"{SENTINEL_SCHEME}://")


def parse_sentinel(url: str) -> SentinelURL:
    """``sentinel://[[user]:password@]host[:port][/db];sentinel://host[:port];...``: raises ValueError on anything else.

    The database may be written on any segment (the usual form puts it on the last), but on all alike.
    """
    hosts: list[tuple[str, int]] = []
    dbs: set[int] = set()
    username = password = None
    # The messages never quote a part: it may hold the password.
    for number, segment in enumerate(filter(None, (part.strip() for part in url.split(";"))), start=1):
        parts = urlsplit(segment)
        if parts.scheme != SENTINEL_SCHEME:
            raise ValueError(f"every `;`-separated part must be a sentinel:// URL, part {number} is not")
        try:
            port = parts.port or SENTINEL_PORT
        except ValueError:
            raise ValueError(f"part {number} has a bad port") from None
        if not parts.hostname:
            raise ValueError(f"part {number} names no host")
        if parts.query or parts.fragment:
            raise ValueError(f"part {number} has options after `?`, which are not read: set them through LLMJOBS_* variables")
        path = parts.path.strip("/")
        if path:
            if not path.isdigit():
                raise ValueError(f"the database must be a number, got {path!r}")
            dbs.add(int(path))
        if parts.password is not None and password is None:
            username, password = unquote(parts.username or "") or None, unquote(parts.password)
        elif parts.username and username is None and password is None:
            username = unquote(parts.username)
        hosts.append((parts.hostname, port))
    if not hosts:
        raise ValueError("no sentinel named")
    if len(dbs) > 1:
        raise ValueError(f"the parts name different databases: {sorted(dbs)}")
    return SentinelURL(hosts=tuple(hosts), db=dbs.pop() if dbs else 0, username=username, password=password)


def read_password(variable: str, password_file: str) -> str:
    """The stripped content of a password file (empty name: empty password); a missing or empty file is a ConfigError."""
    if not password_file:
        return ""
    try:
        password = Path(password_file).expanduser().read_text().strip()
    except OSError as exc:
        raise ConfigError(variable, f"cannot be read: {exc.strerror or exc}") from None
    if not password:
        raise ConfigError(variable, "is empty")
    return password


def with_password(url: str, password_file: str) -> str:
    """``LLMJOBS_REDIS_URL`` with the password read from ``LLMJOBS_REDIS_PASSWORD_FILE`` (if set)."""
    password = read_password("LLMJOBS_REDIS_PASSWORD_FILE", password_file)
    if not password:
        return url
    if is_sentinel(url):
        parsed = parse_sentinel(url)
        return SentinelURL(parsed.hosts, parsed.db, parsed.username, password).kombu_url()
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return urlunsplit(parts._replace(query="&".join(filter(None, [parts.query, f"password={quote(password, safe='')}"]))))
    user = quote(unquote(parts.username), safe="") if parts.username else ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


def redacted(url: str) -> str:
    """A Redis URL fit for a log line: its password replaced by ``***`` (in every part of a Sentinel URL)."""
    if is_sentinel(url):
        return ";".join(_redacted_one(part) for part in url.split(";"))
    return _redacted_one(url)


def _redacted_one(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None and "password=" not in parts.query:
        return url
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username or ''}:***@{host}" if parts.password is not None else parts.netloc
    query = "&".join("password=***" if item.startswith("password=") else item for item in parts.query.split("&") if item)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _netloc_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
