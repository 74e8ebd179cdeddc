"""Steps 3 and 4 hand the reading of the target to the worker and show its progress."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenantguard.restores.models import RestoreRun
from tenantguard.restores.services.analysis import restore_run_analysis_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(held_analysis):
    return held_analysis


def test_checks_queued_show_progress_then_the_page_reloads_with_results(
    personas, tenant, baseline, login, walk, held
):
    run = walk(personas["operator"], tenant, baseline, upto="scope")
    client = login(personas["operator"])

    response = client.post(reverse("restores:checks_run", args=[run.pk]))
    assert response.status_code == 302

    page = client.get(reverse("restores:checks", args=[run.pk])).content.decode()
    assert 'id="analysis"' in page and "waiting for the task worker" in page
    assert "every 1s" in page
    # Asking twice is refused in words while the first one is pending.
    again = client.post(reverse("restores:checks_run", args=[run.pk]), follow=True)
    assert "requested by operator are waiting for the task worker" in again.content.decode()
    assert len(held.jobs) == 1

    fragment = client.get(reverse("restores:analysis", args=[run.pk]) + "?step=checks")
    assert (
        fragment.status_code == 200 and "waiting for the task worker" in fragment.content.decode()
    )

    [(run_id, job_id)] = held.jobs
    assert restore_run_analysis_run(run_id=run_id, job_id=job_id) == "done"

    done = client.get(reverse("restores:analysis", args=[run.pk]) + "?step=checks")
    assert done.status_code == 204 and done["HX-Refresh"] == "true"
    page = client.get(reverse("restores:checks", args=[run.pk])).content.decode()
    assert 'id="analysis"' not in page and 'id="checks-summary"' in page


def test_a_failed_preview_says_why_on_the_page(
    personas, tenant, baseline, login, walk, held, settings
):
    from tenantguard.tenants.models import Tenant

    # The preview must read the target to fail on the tenant's connection (it would otherwise
    # plan from the checks' read).
    settings.TENANTGUARD_TARGET_READ_REUSE_SECONDS = 0
    run = walk(personas["operator"], tenant, baseline, upto="checks")
    client = login(personas["operator"])
    client.post(reverse("restores:preview_run", args=[run.pk]))
    Tenant.objects.filter(pk=tenant.pk).update(static_token="")
    restore_run_analysis_run(run_id=run.pk, job_id=held.jobs[-1][1])

    page = client.get(reverse("restores:preview", args=[run.pk])).content.decode()
    assert 'role="alert"' in page and "did not finish" in page
    assert RestoreRun.objects.get(pk=run.pk).analysis["state"] == "failed"


def test_viewers_cannot_poll_the_analysis(personas, tenant, baseline, login, walk, held):
    run = walk(personas["operator"], tenant, baseline, upto="scope")
    response = login(personas["viewer"]).get(reverse("restores:analysis", args=[run.pk]))
    assert response.status_code == 403


def test_the_preview_panel_reads_as_english(personas, tenant, baseline, login, walk, held):
    run = walk(personas["operator"], tenant, baseline, upto="checks")
    client = login(personas["operator"])
    client.post(reverse("restores:preview_run", args=[run.pk]))
    page = client.get(reverse("restores:preview", args=[run.pk])).content.decode()
    assert "The preview is" in page and "waiting for the task worker" in page
    RestoreRun.objects.filter(pk=run.pk).update(
        analysis={**RestoreRun.objects.get(pk=run.pk).analysis, "state": "running",
                  "progress": {"objects": 1, "type": "settings_catalog"}}
    )  # fmt: skip
    page = client.get(reverse("restores:preview", args=[run.pk])).content.decode()
    assert "The preview is" in page and "1 object read, now Settings catalog" in page


def test_a_pending_preview_is_shown_on_the_checks_page_too(
    personas, tenant, baseline, login, walk, held
):
    run = walk(personas["operator"], tenant, baseline, upto="checks")
    client = login(personas["operator"])
    client.post(reverse("restores:preview_run", args=[run.pk]))

    page = client.get(reverse("restores:checks", args=[run.pk])).content.decode()

    assert "The preview is" in page and "waiting for the task worker" in page
    assert 'disabled aria-disabled="true">Run the checks again' in page
