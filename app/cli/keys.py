"""``llmjobs keys new TENANT``: a new API key, printed once, and the digest line to add to ``LLMJOBS_API_KEYS_FILE``.

The key is 32 random bytes from ``secrets`` (URL-safe text). Only its SHA-256 digest is ever kept
(the file, a compose secret); the key itself is shown this once and cannot be recovered.
"""

from __future__ import annotations

import argparse
import base64
import re
import secrets
import sys

from app.settings.value_types import key_digest

KEY_PREFIX = "llmj_"  # recognizable by secret scanners and in a support ticket, never in a log
TENANT = re.compile(r"^[^\s:,#]+$")


def add_parser(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="API keys: `keys new TENANT` prints a new key once and its line for LLMJOBS_API_KEYS_FILE")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    new = keys_sub.add_parser("new", help="a new key for TENANT")
    new.add_argument("tenant")
    new.add_argument("--rate-limit", type=int, metavar="R", help="that tenant's own requests per minute (0: none)")
    new.add_argument("--max-active", type=int, metavar="A", help="that tenant's own cap on queued + running jobs (0: none)")
    new.add_argument("--webhook-secret", action="store_true", help="also mint that tenant's own webhook signing secret")
    keys_sub.add_parser("webhook-secret", help="a new Standard Webhooks signing secret (whsec_...) for LLMJOBS_WEBHOOK_SECRET")


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_webhook_secret() -> str:
    """Standard Webhooks' format: ``whsec_`` + base64 of random bytes (32 here; the spec asks 24 to 64)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def key_line(key: str, tenant: str, rate_limit: int | None = None, max_active: int | None = None) -> str:
    """The ``LLMJOBS_API_KEYS_FILE`` line for ``key``: ``sha256:<hex>:tenant[:R[:A]]``."""
    limits = [str(limit) for limit in (rate_limit, max_active) if limit is not None]
    return ":".join([key_digest(key), tenant, *limits])


def run(args: argparse.Namespace) -> int:
    if args.keys_command == "webhook-secret":
        print(new_webhook_secret())
        return 0
    if not TENANT.match(args.tenant):
        print("llmjobs: a tenant is one word without ':', ',' or '#'", file=sys.stderr)
        return 2
    if any(value is not None and value < 0 for value in (args.rate_limit, args.max_active)):
        print("llmjobs: --rate-limit and --max-active must be 0 or more", file=sys.stderr)
        return 2
    if args.max_active is not None and args.rate_limit is None:
        print("llmjobs: --max-active needs --rate-limit too (the line is tenant:R:A; R=0 means no rate limit)", file=sys.stderr)
        return 2
    key = new_key()
    print(f"API key for {args.tenant} (shown once; give it to the tenant, keep no copy):\n  {key}")
    line = key_line(key, args.tenant, args.rate_limit, args.max_active)
    if args.webhook_secret:  # the tenant verifies its webhooks with it: it is shown, and kept in the line
        secret = new_webhook_secret()
        print(f"Webhook signing secret for {args.tenant} (give it to the tenant to verify its webhooks):\n  {secret}")
        line += f" webhook_secret={secret}"
    print(f"Add this line to the file LLMJOBS_API_KEYS_FILE names (deploy/secrets/api_keys for compose):\n  {line}")
    return 0
