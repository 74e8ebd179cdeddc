"""Personal API tokens: created (shown once), checked on each API request, revoked.

A token is ``tg_`` followed by 43 random URL-safe characters (256 bits). Only its SHA-256 is
stored, which is enough for a random secret of that size (no password hashing needed) and lets
the lookup be one indexed query. Creating and revoking are audited; the token itself never
reaches the database, a log line or the audit trail.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from django.db import transaction
from django.utils import timezone

from tenantguard.accounts.models import ApiToken
from tenantguard.audit.services import audit_event_record

TOKEN_PREFIX: Final = "tg_"
DEFAULT_LIFETIME_DAYS: Final = 90
MAX_LIFETIME_DAYS: Final = 366
#: ``last_used_at`` is written at most this often per token (not on every request).
LAST_USED_RESOLUTION: Final = timedelta(minutes=1)


class ApiTokenError(ValueError):
    """A token request that cannot be done as asked; the message says what to change."""


@dataclass(frozen=True)
class IssuedToken:
    record: ApiToken
    #: The token itself: show it once, it cannot be read back.
    plaintext: str


def _digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def api_token_create(
    *, actor: Any, name: str, days: int = DEFAULT_LIFETIME_DAYS, user: Any = None
) -> IssuedToken:
    """Issue a token for ``user`` (default: the actor). Only superusers issue tokens for others.

    The token acts with its user's roles, so it can never do more than that user."""
    owner = user or actor
    if not getattr(actor, "is_authenticated", False):
        raise PermissionError("Log in to create an API token.")
    if owner.pk != actor.pk and not actor.is_superuser:
        raise PermissionError("Only TenantGuard superusers can create tokens for other users.")
    if not owner.is_active:
        raise ApiTokenError(f"User {owner.get_username()} is inactive: activate it first.")
    name = (name or "").strip()
    if not name:
        raise ApiTokenError("Give the token a name that says what it is for (e.g. 'nightly CI').")
    if not 1 <= days <= MAX_LIFETIME_DAYS:
        raise ApiTokenError(f"A token lives 1 to {MAX_LIFETIME_DAYS} days; {days} is outside.")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        record = ApiToken.objects.create(
            user=owner,
            name=name[:100],
            prefix=plaintext[:10],
            token_hash=_digest(plaintext),
            expires_at=timezone.now() + timedelta(days=days),
        )
        audit_event_record(
            actor=actor,
            action="api_token.created",
            subject=record,
            details={
                "name": record.name,
                "prefix": record.prefix,
                "user": owner.get_username(),
                "expires_at": record.expires_at.isoformat(),
            },
        )
    return IssuedToken(record=record, plaintext=plaintext)


def api_token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    """Revoke now. Users revoke their own tokens; superusers revoke anyone's."""
    if token.user_id != getattr(actor, "pk", None) and not getattr(actor, "is_superuser", False):
        raise PermissionError("You can only revoke your own API tokens.")
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db()
        if updated:
            audit_event_record(
                actor=actor,
                action="api_token.revoked",
                subject=token,
                details={"name": token.name, "prefix": token.prefix},
            )
    return token


def api_token_for(plaintext: str) -> ApiToken | None:
    """The usable token presented (known, not revoked, not expired, its user active), or None.
    Records when it was last used."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 100:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(token_hash=_digest(plaintext), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def api_token_user(plaintext: str) -> Any | None:
    """The active user a presented token acts as, or None (unknown, revoked, expired)."""
    token = api_token_for(plaintext)
    return token.user if token is not None else None


def api_token_label(token: ApiToken) -> str:
    """How audit events name the token a request used (never the token itself)."""
    return f"API token {token.prefix} '{token.name}'"


def api_tokens_visible_to(user: Any) -> Any:
    tokens = ApiToken.objects.select_related("user")
    if getattr(user, "is_superuser", False):
        return tokens
    if not getattr(user, "is_authenticated", False):
        return tokens.none()
    return tokens.filter(user_id=user.pk)


__all__ = [
    "ApiTokenError",
    "IssuedToken",
    "api_token_create",
    "api_token_for",
    "api_token_label",
    "api_token_revoke",
    "api_token_user",
    "api_tokens_visible_to",
]
