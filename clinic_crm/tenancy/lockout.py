"""Staff sign-in lockout: repeated wrong passwords lock the account, and the client, for a while (CORE-7).

Every staff sign-in (the dashboard's login, Django admin's, the staff token endpoint) goes
through `EmailBackend`, which asks here first and reports each outcome. Failures are counted
per account (the login found, or the address as `normalise_email` spells it, so look-alike
spellings share one count) and per client address, in the shared cache, over a fixed window;
a count at its limit refuses every attempt, the right password included, until the window ends.

The client's address is the socket's peer, or, behind the proxies the deployment says it has
(`TRUSTED_PROXIES`, 1 with `BEHIND_TLS_PROXY`), the address the nearest of them saw: never a
value any client can put in `X-Forwarded-For`.

django-axes does this too, but declares Django 6.0 at most; this is the project's own limiter.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from clinic_crm.common.emails import normalise_email


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window: int  # seconds


def _rules() -> tuple[Rule, Rule]:
    return (Rule("account", settings.SIGN_IN_ACCOUNT_FAILURES, settings.SIGN_IN_LOCKOUT_SECONDS),
            Rule("client", settings.SIGN_IN_CLIENT_FAILURES, settings.SIGN_IN_LOCKOUT_SECONDS))


def client_address(request) -> str:
    """The address of the client, as far as this deployment can know it (see the module's docstring)."""
    meta = getattr(request, "META", {}) or {}
    proxies = settings.TRUSTED_PROXIES
    if proxies > 0:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        # Each trusted proxy appended the address it received from; the one `proxies` places from
        # the right was written by our outermost proxy. Anything left of it came from the client.
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return meta.get("REMOTE_ADDR", "") or "unknown"


def account_key(*, user, login: str) -> str:
    """One key per address however it is spelled: the login's own address when one was found."""
    return f"email:{normalise_email(user.email if user is not None else login)}"


def _cache_keys(rule: Rule, subject: str) -> tuple[str, str]:
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    return f"signin:{rule.name}:{digest}:count", f"signin:{rule.name}:{digest}:since"


def _subjects(request, account: str) -> list[tuple[Rule, str]]:
    account_rule, client_rule = _rules()
    subjects = [(account_rule, account)]
    if request is not None:
        subjects.append((client_rule, client_address(request)))
    return subjects


def seconds_locked(*, request, account: str) -> int:
    """How long sign-ins for this account from this client are refused for, or 0 when they are not."""
    now = time.time()
    wait = 0
    for rule, subject in _subjects(request, account):
        count_key, since_key = _cache_keys(rule, subject)
        values = cache.get_many([count_key, since_key])
        if values.get(count_key, 0) >= rule.limit:
            since = values.get(since_key, now)
            wait = max(wait, int(since + rule.window - now) + 1)
    return wait


def record_failure(*, request, account: str) -> None:
    """Count a wrong password (or an unknown login) against the account and the client."""
    for rule, subject in _subjects(request, account):
        count_key, since_key = _cache_keys(rule, subject)
        cache.add(since_key, time.time(), rule.window)
        if cache.add(count_key, 1, rule.window):
            continue
        try:
            cache.incr(count_key)
        except ValueError:  # expired between the add and the incr: this failure starts a new window
            cache.add(count_key, 1, rule.window)


def record_success(*, account: str) -> None:
    """A right password, not locked out: the account's count starts again (the client's stays)."""
    account_rule, _ = _rules()
    cache.delete_many(list(_cache_keys(account_rule, account)))


def wait_text(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


LOCKED_MESSAGE = "Too many failed sign-ins. For your security, try again in {wait}."
