"""Who sees which sidebar entries (UNFOLD SIDEBAR ``permission`` callbacks in config/settings.py).

Hiding an entry is not access control: each admin page still checks the user's role itself."""

from __future__ import annotations

from django.http import HttpRequest

from tenantguard.accounts.models import Membership, Role


def is_superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def manages_a_tenant(request: HttpRequest) -> bool:
    """Memberships are for the people who change them: superusers and tenant admins."""
    user = request.user
    if not user.is_active:
        return False
    return bool(
        user.is_superuser or Membership.objects.filter(user_id=user.pk, role=Role.ADMIN).exists()
    )
