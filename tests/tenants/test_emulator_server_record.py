"""A running `tenantguard run` records its emulator's address; other commands on the same data
directory find it there, and ignore a record whose server is gone."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from tenantguard.tenants.graph_access import (
    EMULATOR_GRAPH_URL,
    emulator_server_record,
    emulator_server_record_remove,
    emulator_server_record_write,
    running_emulator_url,
    tenant_cloud,
)
from tenantguard.tenants.models import Cloud, Tenant


@pytest.fixture
def data_dir(tmp_path, settings, monkeypatch):
    settings.DATA_DIR = tmp_path
    monkeypatch.delenv("TENANTGUARD_EMULATOR_URL", raising=False)
    return tmp_path


@pytest.fixture
def listening():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def _emulator_tenant() -> Tenant:
    return Tenant(display_name="Demo", cloud=Cloud.EMULATOR, entra_tenant_id="demo")


def test_a_recorded_live_emulator_is_where_emulator_tenants_are_reached(data_dir, listening):
    emulator_server_record_write(url=listening)

    assert running_emulator_url() == listening
    assert tenant_cloud(_emulator_tenant()).graph_url == listening


def test_the_environment_variable_wins_over_the_record(data_dir, listening, monkeypatch):
    emulator_server_record_write(url=listening)
    monkeypatch.setenv("TENANTGUARD_EMULATOR_URL", "http://127.0.0.1:1")

    assert tenant_cloud(_emulator_tenant()).graph_url == "http://127.0.0.1:1"


def test_without_a_record_the_process_keeps_its_own_emulator(data_dir):
    assert running_emulator_url() is None
    assert tenant_cloud(_emulator_tenant()).graph_url == EMULATOR_GRAPH_URL


def test_a_record_whose_port_is_closed_is_ignored(data_dir):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    emulator_server_record_write(url=closed)

    assert running_emulator_url() is None


def test_a_record_of_a_process_that_is_gone_is_ignored(data_dir, listening):
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    emulator_server_record().write_text(
        json.dumps({"url": listening, "pid": int(finished.stdout)}), encoding="utf-8"
    )

    assert running_emulator_url() is None


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", json.dumps({"url": 5, "pid": 1}), json.dumps({"url": "x", "pid": True})],
)
def test_a_damaged_record_is_ignored(data_dir, content):
    emulator_server_record().write_text(content, encoding="utf-8")

    assert running_emulator_url() is None


def test_a_non_loopback_address_in_the_record_is_never_used(data_dir):
    emulator_server_record().write_text(
        json.dumps({"url": "http://graph.example.com:80", "pid": os.getpid()}), encoding="utf-8"
    )

    assert running_emulator_url() is None


def test_removing_leaves_another_servers_record_alone(data_dir, listening):
    emulator_server_record().write_text(
        json.dumps({"url": listening, "pid": os.getpid() + 1}), encoding="utf-8"
    )
    emulator_server_record_remove()
    assert emulator_server_record().exists()

    emulator_server_record_write(url=listening)
    emulator_server_record_remove()
    assert not emulator_server_record().exists()
