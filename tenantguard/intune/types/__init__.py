"""One module per Intune type family: everything TenantGuard and its emulator know about it.

Each module here defines ``FAMILY`` (a ``typespec.TypeFamily``): the family's ``PolicyType``
records (list, fetch, strip, create, update, assign, references, diff identities, restore mode)
and the ``CollectionRules`` of its Graph collections (what the emulator reproduces). The
registry imports every module of this package whose name does not start with ``_``; adding a
type means adding its module here, its seed objects (``tenantguard/emulator/seeds/``) and its
tests. See docs/architecture.md, "Adding an Intune type".

No Django imports in this package.
"""
