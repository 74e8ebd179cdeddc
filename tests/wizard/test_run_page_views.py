"""The run page's live panel: it polls with the state the page was drawn with, and once the run's
status, buttons or snapshot changed it asks htmx to redraw the whole page (``HX-Refresh``)."""

from __future__ import annotations

import re

from django.urls import reverse

from tenantguard.restores.models import RestoreRun, RestoreStatus
from tenantguard.restores.services.runs import restore_run_cancel


def _url(name, run, query=""):
    return reverse(f"restores:{name}", args=[run.pk]) + (f"?{query}" if query else "")


def _polled_url(page: str) -> str:
    match = re.search(r'id="run-live"[^>]*hx-get="([^"]+)"', page, re.S)
    assert match, "the run page does not poll"
    return match.group(1).replace("&amp;", "&")


def test_the_poll_redraws_the_whole_page_once_the_run_changed_status(
    personas, tenant, baseline, login, walk
):
    run = walk(personas["operator"], tenant, baseline)
    RestoreRun.objects.filter(pk=run.pk).update(status=RestoreStatus.QUEUED)
    client = login(personas["operator"])
    polled = _polled_url(client.get(_url("run", run)).content.decode())
    assert "state=" in polled

    same = client.get(polled, HTTP_HX_REQUEST="true")
    assert same.status_code == 200 and "HX-Refresh" not in same
    assert b'id="run-live"' in same.content

    RestoreRun.objects.filter(pk=run.pk).update(status=RestoreStatus.RUNNING)
    changed = client.get(polled, HTTP_HX_REQUEST="true")
    assert changed.status_code == 204 and changed["HX-Refresh"] == "true"

    page = client.get(_url("run", run)).content.decode()
    assert "Ask the run to stop" in page and "Cancel this run" not in page
    assert _polled_url(page) != polled


def test_the_poll_redraws_the_page_when_only_the_buttons_changed(
    personas, tenant, baseline, login, walk
):
    run = walk(personas["operator"], tenant, baseline)
    RestoreRun.objects.filter(pk=run.pk).update(status=RestoreStatus.RUNNING)
    client = login(personas["operator"])
    polled = _polled_url(client.get(_url("run", run)).content.decode())

    restore_run_cancel(actor=personas["operator"], run=RestoreRun.objects.get(pk=run.pk))

    run.refresh_from_db()
    assert run.status == RestoreStatus.RUNNING and run.cancel_requested_at
    assert client.get(polled, HTTP_HX_REQUEST="true")["HX-Refresh"] == "true"


def test_a_run_cancelled_before_it_started_says_nothing_was_written(
    personas, tenant, baseline, login, walk
):
    run = walk(personas["operator"], tenant, baseline)
    RestoreRun.objects.filter(pk=run.pk).update(status=RestoreStatus.QUEUED)
    restore_run_cancel(actor=personas["operator"], run=RestoreRun.objects.get(pk=run.pk))
    run.refresh_from_db()
    assert run.status == RestoreStatus.CANCELLED

    page = login(personas["viewer"]).get(_url("run", run)).content.decode()

    assert "Cancelled before it started: nothing was written to Contoso Test." in page
    assert "dict_items" not in page and "hx-get" not in page.split('id="run-live"')[1][:300]
