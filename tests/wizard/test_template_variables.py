"""The suite's ``string_if_invalid`` (config/test_settings.py): a variable TenantGuard's own
templates cannot resolve fails the test that renders it; third-party templates (Django admin,
unfold) render missing variables as in production."""

from __future__ import annotations

import pytest
from django.template import Context, Template, engines
from django.template.loader import render_to_string

from config.test_settings import InvalidTemplateVariableError


def test_a_missing_variable_in_our_templates_fails_with_the_template_and_line():
    with pytest.raises(InvalidTemplateVariableError) as raised:
        render_to_string("restores/_status_badge.html", {"status": "running"})
    assert "'label'" in str(raised.value)
    assert "restores/_status_badge.html, line 1" in str(raised.value)


def test_a_missing_attribute_fails_in_an_included_admin_fragment_too():
    with pytest.raises(InvalidTemplateVariableError) as raised:
        render_to_string("tenantguard/admin/_backup_progress.html", {"backup_set": object()})
    assert "tenantguard/admin/_backup_progress.html" in str(raised.value)


def test_variables_that_resolve_render_normally():
    html = render_to_string("restores/_status_badge.html", {"status": "running", "label": "Run"})
    assert 'data-status="running"' in html and ">Run<" in html


def test_other_templates_render_missing_variables_as_production_does():
    engine = engines["django"].engine
    template = Template(
        "[{{ missing }}|{{ missing|length }}|{{ missing|default:'x' }}]", engine=engine
    )
    assert template.render(Context({})) == "[|0|x]"
