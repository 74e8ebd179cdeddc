"""Hardening that spans the whole site: sign-in lockout (django-axes), per-user rate limits of
the actions that read a live tenant, and the client address both use.

The Content-Security-Policy and HSTS are settings (``config/settings.py``), sent by django-csp
and Django's ``SecurityMiddleware``.
"""
