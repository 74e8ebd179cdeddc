"""Admin changelists that answer an impossible lookup value like any invalid filter.

Django's changelist turns an invalid filter (``?tenant=abc``) into its "invalid lookups" answer
(a redirect to ``?e=1``), but an id beyond the 64-bit range of the column (``?tenant=
99999999999999999999``) only fails when the query runs: SQLite raises OverflowError, a 500.
``CheckedLookupsMixin`` makes that the same invalid-filter answer, for every changelist lookup.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db import DataError
from django.http import HttpRequest


class CheckedLookupsChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        try:
            super().get_results(request)
        except (OverflowError, DataError) as exc:
            raise IncorrectLookupParameters(
                "A filter value is out of range (ids are at most 19 digits)."
            ) from exc


class CheckedLookupsMixin:
    """For a ``ModelAdmin``: changelist filters with impossible values are invalid filters."""

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        base = super().get_changelist(request, **kwargs)  # type: ignore[misc]
        if issubclass(base, CheckedLookupsChangeList):
            return base
        return type(f"Checked{base.__name__}", (CheckedLookupsChangeList, base), {})
