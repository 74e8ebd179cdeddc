"""Hardening that spans the whole site: sign-in lockout (django-axes per username and address,
and a limit of failed sign-ins per address), per-user rate limits of the actions that read a live
tenant, and the client address they use.

The Content-Security-Policy and HSTS are settings (``config/settings.py``), sent by django-csp
and Django's ``SecurityMiddleware``.
"""
