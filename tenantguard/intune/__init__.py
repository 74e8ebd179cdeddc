"""Intune knowledge: the policy-type registry, capture (read a tenant) and normalize.

``from tenantguard.intune import registry, capture, normalize``; see docs/architecture.md §3.
No Django imports in this package.
"""
