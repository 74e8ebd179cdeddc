"""A resolver for pure unit tests of ``references.rewrite`` (no target tenant to read): it
answers from a mapping, then from ids of foundations "created by the run", else ``missing``.
Restores never use it: they use ``source.ReferenceResolver``."""

from __future__ import annotations

from collections.abc import Mapping

from tenantguard.intune.references import Resolution


class StaticResolver:
    def __init__(
        self,
        mapping: Mapping[str, Mapping[str, str | None]] | None = None,
        foundation_ids: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.mapping = mapping or {}
        self.foundation_ids = foundation_ids or {}

    def resolve_for_write(self, kind: str, source_id: str) -> Resolution:
        explicit = self.mapping.get(kind) or {}
        if source_id in explicit:
            target = explicit[source_id]
            return Resolution("skipped") if target is None else Resolution("mapped", target)
        created = (self.foundation_ids.get(kind) or {}).get(source_id)
        return Resolution("in_scope", created) if created else Resolution("missing")
