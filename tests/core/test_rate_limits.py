"""Per-user limits on the actions that read a live tenant, per-address limits on bad API tokens.

The limiter itself (fixed windows counted in the database), then each limited action through the
API (429, ``Retry-After``, a JSON ``detail`` saying when to retry) and through the web pages
(the same counter, shown as an error message), then the OpenAPI document.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as settings_hypothesis
from hypothesis import strategies as st

from tenantguard.accounts.tokens import api_token_create
from tenantguard.backups.models import BackupSet
from tenantguard.backups.services import backup_set_capture, backup_set_start
from tenantguard.emulator.seed import collection_of
from tenantguard.restores.services.analysis import restore_run_analysis_run
from tenantguard.restores.services.runs import restore_run_create, restore_run_set_scope
from tenantguard.security.models import RateLimitCounter
from tenantguard.security.ratelimit import (
    RateLimited,
    RateLimitScope,
    rate_limit_check,
    rate_limit_hit,
)
from tenantguard.security.rates import Rate, rate_parse

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 7, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _one_rate_limit_window(monkeypatch):
    """The limiter's windows are aligned to the wall clock: a test whose hits straddled a
    10-minute boundary would see its count start again. Every hit of a test falls in one."""
    from types import SimpleNamespace

    from django.utils import timezone

    from tenantguard.security import ratelimit

    frozen = timezone.now()
    monkeypatch.setattr(ratelimit, "timezone", SimpleNamespace(now=lambda: frozen))


@pytest.fixture
def limits(settings):
    """``limits(scope=Rate(...))``: set some limits for this test, the others off."""

    def make(**rates: Rate | None) -> None:
        settings.TENANTGUARD_RATE_LIMITS = {scope.value: None for scope in RateLimitScope} | rates

    return make


# ---- rates from the environment ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("10/10m", Rate(10, 600)),
        ("3/1h", Rate(3, 3600)),
        (" 5 / 30s ", Rate(5, 30)),
        ("2/90", Rate(2, 90)),
        ("1/1d", Rate(1, 86400)),
        ("off", None),
        ("0", None),
    ],
)
def test_a_rate_reads_as_a_number_per_period(text, rate):
    assert rate_parse(text, name="TENANTGUARD_RATE_LIMIT_CHECKS") == rate


@pytest.mark.parametrize("text", ["ten/10m", "10", "10/0m", "0/10m", "10/10y", "-1/10m"])
def test_a_bad_rate_is_refused_naming_the_variable(text):
    with pytest.raises(ImproperlyConfigured, match=r"TENANTGUARD_RATE_LIMIT_CHECKS must be a rate"):
        rate_parse(text, name="TENANTGUARD_RATE_LIMIT_CHECKS")


def test_a_rate_says_itself_as_people_say_it():
    assert str(Rate(10, 600)) == "10 per 10 minutes"
    assert str(Rate(1, 3600)) == "1 per 1 hour"
    assert str(Rate(4, 45)) == "4 per 45 seconds"


# ---- the limiter -------------------------------------------------------------------------------


def test_the_limit_refuses_the_next_action_until_the_window_ends(limits):
    limits(checks=Rate(3, 600))
    for _ in range(3):
        rate_limit_hit(scope=RateLimitScope.CHECKS, subject="user:1", now=NOON)
    with pytest.raises(RateLimited) as refused:
        rate_limit_hit(
            scope=RateLimitScope.CHECKS, subject="user:1", now=NOON + timedelta(seconds=50)
        )
    assert refused.value.retry_after == 550
    assert refused.value.retry_at == NOON + timedelta(minutes=10)
    assert refused.value.message == (
        "Too many check runs: at most 3 per 10 minutes. Try again in 10 minutes "
        "(after 12:10:00 UTC)."
    )
    # The next window starts afresh.
    rate_limit_hit(scope=RateLimitScope.CHECKS, subject="user:1", now=NOON + timedelta(minutes=10))


def test_refused_actions_are_not_counted(limits):
    limits(preview=Rate(2, 60))
    for _ in range(2):
        rate_limit_hit(scope=RateLimitScope.PREVIEW, subject="user:1", now=NOON)
    for _ in range(5):
        with pytest.raises(RateLimited):
            rate_limit_hit(scope=RateLimitScope.PREVIEW, subject="user:1", now=NOON)
    assert RateLimitCounter.objects.get().count == 2


def test_each_user_and_each_scope_has_its_own_count(limits):
    limits(checks=Rate(1, 600), preview=Rate(1, 600))
    rate_limit_hit(scope=RateLimitScope.CHECKS, subject="user:1", now=NOON)
    rate_limit_hit(scope=RateLimitScope.CHECKS, subject="user:2", now=NOON)
    rate_limit_hit(scope=RateLimitScope.PREVIEW, subject="user:1", now=NOON)
    with pytest.raises(RateLimited):
        rate_limit_hit(scope=RateLimitScope.CHECKS, subject="user:1", now=NOON)


def test_a_short_wait_is_said_in_seconds(limits):
    limits(connection_test=Rate(1, 60))
    rate_limit_hit(scope=RateLimitScope.CONNECTION_TEST, subject="user:1", now=NOON)
    with pytest.raises(RateLimited, match=r"Try again in 45 seconds \(after 12:01:00 UTC\)"):
        rate_limit_hit(
            scope=RateLimitScope.CONNECTION_TEST, subject="user:1", now=NOON + timedelta(seconds=15)
        )


def test_check_alone_counts_nothing(limits):
    limits(api_token_failure=Rate(1, 600))
    rate_limit_check(scope=RateLimitScope.API_TOKEN_FAILURE, subject="address:a", now=NOON)
    rate_limit_check(scope=RateLimitScope.API_TOKEN_FAILURE, subject="address:a", now=NOON)
    assert not RateLimitCounter.objects.exists()
    rate_limit_hit(scope=RateLimitScope.API_TOKEN_FAILURE, subject="address:a", now=NOON)
    with pytest.raises(RateLimited):
        rate_limit_check(scope=RateLimitScope.API_TOKEN_FAILURE, subject="address:a", now=NOON)


def test_windows_that_are_over_are_deleted(limits):
    limits(checks=Rate(5, 60))
    for minute in range(4):
        rate_limit_hit(
            scope=RateLimitScope.CHECKS, subject="user:1", now=NOON + timedelta(minutes=minute)
        )
    assert RateLimitCounter.objects.count() == 1


@settings_hypothesis(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.integers(1, 5),
    seconds=st.sampled_from([1, 7, 60, 600]),
    offsets=st.lists(st.integers(0, 1800), max_size=30).map(sorted),
)
def test_each_window_accepts_exactly_up_to_the_limit(limits, limit, seconds, offsets):
    limits(checks=Rate(limit, seconds))
    subject = f"user:{uuid.uuid4()}"
    accepted: dict[int, int] = {}
    for offset in offsets:
        at = NOON + timedelta(seconds=offset)
        window = int(at.timestamp()) // seconds
        try:
            rate_limit_hit(scope=RateLimitScope.CHECKS, subject=subject, now=at)
        except RateLimited as refused:
            assert accepted.get(window, 0) == limit
            window_end = datetime.fromtimestamp((window + 1) * seconds, tz=UTC)
            assert refused.retry_at == window_end
            assert 1 <= refused.retry_after <= seconds
        else:
            accepted[window] = accepted.get(window, 0) + 1
    for window in {int((NOON + timedelta(seconds=o)).timestamp()) // seconds for o in offsets}:
        in_window = sum(
            1
            for o in offsets
            if int((NOON + timedelta(seconds=o)).timestamp()) // seconds == window
        )
        assert accepted.get(window, 0) == min(in_window, limit)


def test_a_limit_turned_off_never_refuses(limits):
    limits()
    for _ in range(50):
        rate_limit_hit(scope=RateLimitScope.BACKUP, subject="user:1", now=NOON)
    assert not RateLimitCounter.objects.exists()


def test_the_default_limits_are_on(settings):
    assert settings.TENANTGUARD_RATE_LIMITS == {
        "connection_test": Rate(10, 600),
        "checks": Rate(20, 600),
        "preview": Rate(20, 600),
        "backup": Rate(10, 3600),
        "api_token_failure": Rate(10, 600),
        "sign_in_failure": Rate(30, 600),
    }


# ---- through the API ---------------------------------------------------------------------------


def _api(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _post(client: Client, path: str, body: object = None, **extra):
    return client.post(
        "/api" + path, data=json.dumps(body or {}), content_type="application/json", **extra
    )


def _assert_429(response, *, noun: str, window: int = 600) -> None:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["detail"].startswith(f"Too many {noun}: at most ")
    assert "Try again in " in body["detail"] and " UTC)." in body["detail"]
    assert 1 <= int(response["Retry-After"]) <= window


@pytest.fixture
def backed_up(personas, tenant, emulated, demo_objects):
    for obj in demo_objects:
        emulated.put_object(collection_of(obj, source="test"), obj)
    return backup_set_capture(
        backup_set=backup_set_start(actor=personas["owner"], tenant=tenant, enqueue=False)
    )


def test_api_connection_tests_answer_429_past_the_users_limit(limits, personas, tenant):
    limits(connection_test=Rate(2, 600))
    owner = _api(personas["owner"])
    path = f"/tenants/{tenant.pk}/test-connection"
    assert [_post(owner, path).status_code for _ in range(2)] == [200, 200]
    _assert_429(_post(owner, path), noun="connection tests")
    # Another user has a count of their own.
    assert _post(_api(personas["operator"]), path).status_code == 200


def test_api_backups_answer_429_past_the_users_limit(limits, personas, tenant, emulated):
    limits(backup=Rate(1, 3600))
    owner = _api(personas["owner"])
    assert _post(owner, f"/tenants/{tenant.pk}/backups").status_code == 202
    response = _post(owner, f"/tenants/{tenant.pk}/backups")
    _assert_429(response, noun="backups started", window=3600)
    assert "at most 1 per 1 hour" in response.json()["detail"]
    assert BackupSet.objects.filter(tenant=tenant).count() == 1


def test_api_checks_and_preview_answer_429_past_the_users_limit(
    limits, personas, tenant, backed_up
):
    limits(checks=Rate(1, 600), preview=Rate(1, 600))
    run = restore_run_create(actor=personas["operator"], tenant=tenant, backup_set=backed_up)
    restore_run_set_scope(actor=personas["operator"], run=run, mode="all")
    operator = _api(personas["operator"])
    assert _post(operator, f"/restore-runs/{run.pk}/checks").status_code == 200
    _assert_429(_post(operator, f"/restore-runs/{run.pk}/checks"), noun="check runs")
    assert _post(operator, f"/restore-runs/{run.pk}/preview").status_code == 200
    _assert_429(_post(operator, f"/restore-runs/{run.pk}/preview"), noun="preview runs")


def test_an_object_the_user_cannot_see_is_404_and_not_counted(limits, personas, tenant):
    limits(connection_test=Rate(1, 600))
    outsider = _api(personas["outsider"])
    for _ in range(3):
        assert _post(outsider, f"/tenants/{tenant.pk}/test-connection").status_code == 404
    assert not RateLimitCounter.objects.exists()


# ---- bad API tokens ----------------------------------------------------------------------------


def _bearer(token: str, address: str = "203.0.113.7", **extra) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}", "REMOTE_ADDR": address, **extra}


def test_an_address_guessing_tokens_is_refused_even_with_a_valid_one(limits, personas):
    limits(api_token_failure=Rate(3, 600))
    valid = api_token_create(actor=personas["owner"], name="ci").plaintext
    client = Client()
    for attempt in range(3):
        wrong = client.get("/api/tenants", **_bearer(f"tg_wrong{attempt}"))
        assert wrong.status_code == 401
    refused = client.get("/api/tenants", **_bearer(valid))
    _assert_429(refused, noun="requests with an invalid API token")
    # Another address is not affected.
    assert client.get("/api/tenants", **_bearer(valid, "198.51.100.9")).status_code == 200


def test_valid_tokens_are_never_counted(limits, personas):
    limits(api_token_failure=Rate(1, 600))
    valid = api_token_create(actor=personas["owner"], name="ci").plaintext
    client = Client()
    for _ in range(5):
        assert client.get("/api/tenants", **_bearer(valid)).status_code == 200


def test_behind_the_proxy_the_address_is_the_one_it_appended(limits, personas, settings):
    limits(api_token_failure=Rate(1, 600))
    settings.TENANTGUARD_BEHIND_PROXY = True
    client = Client()
    proxy = "10.0.0.2"
    # The client forges earlier X-Forwarded-For entries: the last one (the proxy's) counts.
    first = client.get(
        "/api/tenants", **_bearer("tg_x", proxy, HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7")
    )
    assert first.status_code == 401
    again = client.get(
        "/api/tenants", **_bearer("tg_y", proxy, HTTP_X_FORWARDED_FOR="2.2.2.2, 203.0.113.7")
    )
    assert again.status_code == 429
    other = client.get(
        "/api/tenants", **_bearer("tg_z", proxy, HTTP_X_FORWARDED_FOR="198.51.100.9")
    )
    assert other.status_code == 401


# ---- through the web pages ---------------------------------------------------------------------


def _messages(response) -> list[str]:
    """The messages the request queued for the next page (without rendering that page)."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_web_connection_test_shares_the_users_count_with_the_api(limits, personas, tenant):
    limits(connection_test=Rate(1, 600))
    owner = _api(personas["owner"])
    assert _post(owner, f"/tenants/{tenant.pk}/test-connection").status_code == 200
    tenant.refresh_from_db()
    checked_at = tenant.connection_checked_at
    response = owner.post(reverse("admin:tenants_tenant_test_connection", args=[tenant.pk]))
    assert any(
        m.startswith("Too many connection tests: at most 1 per 10 minutes.")
        for m in _messages(response)
    )
    tenant.refresh_from_db()
    assert tenant.connection_checked_at == checked_at  # not tested again


def test_web_backup_now_is_limited(limits, personas, tenant, emulated):
    limits(backup=Rate(1, 3600))
    owner = _api(personas["owner"])
    backup_url = reverse("admin:tenants_tenant_backup", args=[tenant.pk])
    owner.post(backup_url)
    response = owner.post(backup_url)
    assert any(m.startswith("Too many backups started") for m in _messages(response))
    assert BackupSet.objects.filter(tenant=tenant).count() == 1


def test_web_checks_and_preview_are_limited(limits, personas, tenant, backed_up, held_analysis):
    limits(checks=Rate(1, 600), preview=Rate(1, 600))
    run = restore_run_create(actor=personas["operator"], tenant=tenant, backup_set=backed_up)
    restore_run_set_scope(actor=personas["operator"], run=run, mode="all")
    operator = _api(personas["operator"])
    operator.post(reverse("restores:checks_run", args=[run.pk]))
    assert len(held_analysis.jobs) == 1
    response = operator.post(reverse("restores:checks_run", args=[run.pk]))
    assert any(m.startswith("Too many check runs") for m in _messages(response))
    assert len(held_analysis.jobs) == 1
    # The preview needs the checks done (a preview refused for that would not count).
    [(run_id, job_id)] = held_analysis.jobs
    assert restore_run_analysis_run(run_id=run_id, job_id=job_id) == "done"
    operator.post(reverse("restores:preview_run", args=[run.pk]))
    assert len(held_analysis.jobs) == 2
    response = operator.post(reverse("restores:preview_run", args=[run.pk]))
    assert any(m.startswith("Too many preview runs") for m in _messages(response))


# ---- the OpenAPI document ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/tenants/{tenant_id}/test-connection", "post"),
        ("/api/tenants/{tenant_id}/backups", "post"),
        ("/api/restore-runs/{run_id}/checks", "post"),
        ("/api/restore-runs/{run_id}/preview", "post"),
        ("/api/tenants", "get"),  # any request with a token can meet the address limit
    ],
)
def test_the_openapi_document_declares_429_with_retry_after(personas, path, method):
    def no_duplicate_keys(pairs):
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicate keys: {keys}"
        return dict(pairs)

    raw = _api(personas["owner"]).get("/api/openapi.json").content
    document = json.loads(raw, object_pairs_hook=no_duplicate_keys)
    declared = document["paths"][path][method]["responses"]["429"]
    assert declared["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert "Retry-After" in declared["headers"]


@pytest.mark.parametrize(
    ("meta", "behind_proxy", "address"),
    [
        ({"REMOTE_ADDR": "203.0.113.7"}, False, "203.0.113.7"),
        ({"REMOTE_ADDR": "2001:DB8::1"}, False, "2001:db8::1"),
        ({}, False, None),  # a request built in code (Client.login): none, never a made-up one
        ({"REMOTE_ADDR": "unix-socket"}, False, None),
        (
            {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.7"},
            False,
            "10.0.0.2",
        ),
        (
            {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.1.1.1, 203.0.113.7"},
            True,
            "203.0.113.7",
        ),
        ({"REMOTE_ADDR": "10.0.0.2"}, True, "10.0.0.2"),
    ],
)
def test_the_client_address(settings, meta, behind_proxy, address):
    from django.http import HttpRequest

    from tenantguard.security.ratelimit import client_address

    settings.TENANTGUARD_BEHIND_PROXY = behind_proxy
    request = HttpRequest()
    request.META.update(meta)
    assert client_address(request) == address


# ---- refused actions give their hit back -------------------------------------------------------


def test_a_hit_refused_in_a_race_is_not_counted(limits, monkeypatch):
    """Two processes read 'one left' and both increment: the later one is refused, and its
    increment is rolled back rather than kept."""
    from tenantguard.security import ratelimit

    limits(checks=Rate(2, 600))
    for _ in range(2):
        rate_limit_hit(scope=RateLimitScope.CHECKS, subject="user:1", now=NOON)
    # This process read the count before the other took the last one.
    monkeypatch.setattr(ratelimit, "_refuse_if_used_up", lambda **_: None)
    with pytest.raises(RateLimited):
        rate_limit_hit(scope=RateLimitScope.CHECKS, subject="user:1", now=NOON)
    assert RateLimitCounter.objects.get().count == 2


def test_an_action_that_raises_gives_its_hit_back_unless_graph_was_read(limits, personas):
    from tenantguard.graph.errors import ServerError
    from tenantguard.security.ratelimit import rate_limited_user_action

    limits(checks=Rate(1, 600))
    user = personas["operator"]
    for _ in range(3):
        with (
            pytest.raises(ValueError),
            rate_limited_user_action(scope=RateLimitScope.CHECKS, user=user),
        ):
            raise ValueError("refused by the service")
    assert RateLimitCounter.objects.get().count == 0
    with (
        pytest.raises(ServerError),
        rate_limited_user_action(scope=RateLimitScope.CHECKS, user=user),
    ):
        raise ServerError("Graph answered 503")
    assert RateLimitCounter.objects.get().count == 1  # the tenant was read: that counts
    with (
        pytest.raises(RateLimited),
        rate_limited_user_action(scope=RateLimitScope.CHECKS, user=user),
    ):
        pytest.fail("the action must not run past the limit")


def test_an_action_that_read_graph_keeps_its_hit_whatever_failed_after(
    limits, personas, tenant, emulated
):
    """Checks that read the whole tenant and were then refused when recording their results
    (the run's inputs changed meanwhile) did read the tenant: the hit is not given back."""
    from tenantguard.restores.services.errors import RestoreRunError
    from tenantguard.security.ratelimit import rate_limited_user_action
    from tenantguard.tenants.graph_access import graph_client_for

    limits(checks=Rate(1, 600))
    user = personas["operator"]
    with (
        pytest.raises(RestoreRunError),
        rate_limited_user_action(scope=RateLimitScope.CHECKS, user=user),
    ):
        graph_client_for(tenant).get("deviceManagement/deviceConfigurations")
        raise RestoreRunError("The run's inputs changed while the checks ran")
    assert RateLimitCounter.objects.get().count == 1
    with (
        pytest.raises(RateLimited),
        rate_limited_user_action(scope=RateLimitScope.CHECKS, user=user),
    ):
        pytest.fail("a second full read must not run past the limit")


def test_api_refused_by_the_policy_is_not_counted(limits, personas, tenant, emulated):
    limits(backup=Rate(1, 3600))
    viewer = _api(personas["viewer"])
    for _ in range(3):
        assert _post(viewer, f"/tenants/{tenant.pk}/backups").status_code == 403
    assert RateLimitCounter.objects.get().count == 0
    assert not BackupSet.objects.filter(tenant=tenant).exists()


def test_web_checks_refused_while_pending_are_not_counted(
    limits, personas, tenant, backed_up, held_analysis
):
    limits(checks=Rate(2, 600))
    run = restore_run_create(actor=personas["operator"], tenant=tenant, backup_set=backed_up)
    restore_run_set_scope(actor=personas["operator"], run=run, mode="all")
    operator = _api(personas["operator"])
    operator.post(reverse("restores:checks_run", args=[run.pk]))
    assert len(held_analysis.jobs) == 1
    for _ in range(3):
        response = operator.post(reverse("restores:checks_run", args=[run.pk]))
        shown = _messages(response)
        assert shown and not any(m.startswith("Too many") for m in shown), shown
    assert len(held_analysis.jobs) == 1
    assert RateLimitCounter.objects.get().count == 1  # only the checks that were queued
