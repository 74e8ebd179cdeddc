"""Restore engine services: policy, run lifecycle, scope, fingerprints (checks, diff, execute plug in here)."""
