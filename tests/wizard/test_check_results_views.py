"""Step 3 with many results: the first ones listed per code, "Show all", and the CSV of every result
(also linked from the run page, for the audit trail)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from tenantguard.restores.selectors import RESULTS_SHOWN_PER_CODE
from tenantguard.restores.services.runs import restore_run_record_checks

pytestmark = pytest.mark.django_db

MANY = RESULTS_SHOWN_PER_CODE + 37


def _result(code: str, severity: str, name: str) -> dict:
    return {
        "code": code,
        "severity": severity,
        "item": {"type": "device_configuration", "source_id": f"src-{name}", "name": name},
        "message": f"{code} for {name}",
        "resolution": "Map it or skip it.",
    }


@pytest.fixture
def many_results_run(personas, tenant, baseline, walk):
    run = walk(personas["operator"], tenant, baseline, upto="scope")
    results = [_result("group_missing", "blocking", f"Policy {n:04d}") for n in range(MANY)]
    results += [
        _result("broad_assignment", "warning", '=HYPERLINK("http://evil")'),
        _result("broad_assignment", "warning", "Plain name"),
    ]
    return restore_run_record_checks(
        actor=personas["operator"], run=run, results=results, summary={"total": len(results)}
    )


def _items_listed(html: str, code: str) -> int:
    return html.count(f'<li class="tg-result" data-code="{code}">')


def test_the_first_results_of_a_code_are_listed_and_the_rest_counted(
    personas, login, many_results_run
):
    client = login(personas["operator"])
    page = client.get(reverse("restores:checks", args=[many_results_run.pk])).content.decode()

    assert _items_listed(page, "group_missing") == RESULTS_SHOWN_PER_CODE
    assert f"{MANY} in all: the first {RESULTS_SHOWN_PER_CODE} are listed." in page
    assert f"Show all {MANY}" in page
    assert f"Blocking: execution is impossible until resolved ({MANY})" in page
    assert _items_listed(page, "broad_assignment") == 2


def test_show_all_lists_every_result_of_that_code(personas, login, many_results_run):
    client = login(personas["operator"])
    url = reverse("restores:checks", args=[many_results_run.pk]) + "?all=group_missing"
    page = client.get(url).content.decode()

    assert _items_listed(page, "group_missing") == MANY
    assert "Policy 0236" in page
    assert "Show all" not in page


def test_the_csv_holds_every_result_and_neutralizes_formulas(personas, login, many_results_run):
    client = login(personas["viewer"])  # read-only, for the audit trail: viewers may download
    response = client.get(reverse("restores:checks_csv", args=[many_results_run.pk]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"restore-{many_results_run.pk}-checks.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "severity",
        "code",
        "item_type",
        "item_source_id",
        "item_name",
        "message",
        "resolution",
    ]
    assert len(rows) == 1 + MANY + 2
    assert rows[1][:2] == ["blocking", "group_missing"]
    names = [row[4] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil")' in names
    assert "Plain name" in names


def test_the_run_page_shows_the_recorded_checks_with_the_csv_link(
    personas, login, many_results_run
):
    client = login(personas["viewer"])
    page = client.get(reverse("restores:run", args=[many_results_run.pk])).content.decode()

    assert f"❌ {MANY} blocking" in page
    assert "⚠️ 2 warnings" in page
    assert reverse("restores:checks_csv", args=[many_results_run.pk]) in page


def test_an_outsider_cannot_download_the_checks(personas, login, many_results_run):
    client = login(personas["outsider"])
    response = client.get(reverse("restores:checks_csv", args=[many_results_run.pk]))
    assert response.status_code == 404
