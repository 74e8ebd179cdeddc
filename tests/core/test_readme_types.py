"""The README's list of what TenantGuard backs up names every registered type."""

from __future__ import annotations

from pathlib import Path

from tenantguard.intune import registry

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_names_every_type_with_its_restore_mode():
    text = README.read_text(encoding="utf-8")
    section = text.split("## What TenantGuard backs up and restores", 1)[1].split("\n## ", 1)[0]
    rows = {
        line.split("|")[1].strip(): line for line in section.splitlines() if line.count("|") == 4
    }
    for ptype in registry.all_types():
        row = rows.get(ptype.category)
        assert row is not None, f"README: no row for the category {ptype.category}"
        restored, preview_only = row.split("|")[2], row.split("|")[3]
        column = preview_only if ptype.is_preview_only else restored
        assert ptype.label in column, f"README: {ptype.label} missing from {ptype.category}"
