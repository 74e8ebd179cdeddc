"""`tenantguard audit verify`: one line per problem and exit 1, or "N events, chain intact"."""

from __future__ import annotations

import pytest
from django.db import connection

from tenantguard.audit.services import audit_event_record
from tenantguard.audit.triggers import triggers_install, triggers_remove
from tenantguard.cli import main


@pytest.fixture
def trail(db, tenant, superuser):
    return [
        audit_event_record(actor=superuser, action=f"test.step_{n}", subject=tenant)
        for n in range(1, 4)
    ]


def test_an_intact_trail_exits_0(trail, capsys):
    assert main(["--user", "root", "audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [f"3 events, chain intact (head 3:{trail[-1].hash})"]


def test_a_tampered_trail_names_each_event_and_exits_1(trail, capsys):
    triggers_remove(connection)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [trail[0].pk])
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [trail[1].pk])
    triggers_install(connection)
    assert main(["--user", "root", "audit", "verify"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"edited: event id={trail[0].pk} (sequence 1), action 'x'")
    assert lines[1].startswith(f"missing: sequence 2 between event id={trail[0].pk}")
    assert f"and event id={trail[2].pk} (sequence 3)" in lines[1]
    assert lines[2] == "2 events, 2 problem(s): the audit trail is not intact"


def test_only_superusers_verify(trail, make_user, capsys):
    make_user("operator")
    assert main(["--user", "operator", "audit", "verify"]) == 2
    assert "is not a superuser" in capsys.readouterr().err


def test_an_anchor_from_an_earlier_run_catches_a_cut_off_end(trail, capsys):
    anchor = f"3:{trail[-1].hash}"
    assert main(["--user", "root", "audit", "verify", "--anchor", anchor]) == 0
    triggers_remove(connection)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [trail[2].pk])
    triggers_install(connection)
    capsys.readouterr()
    assert main(["--user", "root", "audit", "verify"]) == 0  # without the anchor: looks intact
    assert main(["--user", "root", "audit", "verify", "--anchor", anchor]) == 1
    assert capsys.readouterr().out.splitlines()[-2].startswith("anchor: event sequence 3 is gone")


def test_a_malformed_anchor_is_refused(trail, capsys):
    assert main(["--user", "root", "audit", "verify", "--anchor", "3:nothex"]) == 2
    assert "is not SEQUENCE:HASH" in capsys.readouterr().err
