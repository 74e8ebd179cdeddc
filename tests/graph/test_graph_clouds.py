"""National clouds: each has its own Graph root and login authority."""

from __future__ import annotations

import pytest

from tenantguard.graph import CLOUDS, Cloud


@pytest.mark.parametrize(
    ("key", "graph_url", "login_url"),
    [
        ("global", "https://graph.microsoft.com", "https://login.microsoftonline.com"),
        ("usgov", "https://graph.microsoft.us", "https://login.microsoftonline.us"),
        ("usgov_dod", "https://dod-graph.microsoft.us", "https://login.microsoftonline.us"),
        ("china", "https://microsoftgraph.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
    ],
)
def test_clouds_table(key, graph_url, login_url):
    cloud = CLOUDS[key]
    assert cloud == Cloud(key, graph_url=graph_url, login_url=login_url)


def test_only_the_four_national_clouds_are_built_in():
    assert set(CLOUDS) == {"global", "usgov", "usgov_dod", "china"}


def test_custom_cloud_normalises_trailing_slashes():
    cloud = Cloud("custom", graph_url="http://127.0.0.1:8765/", login_url="http://127.0.0.1:8765/")
    assert cloud.graph_url == "http://127.0.0.1:8765"
    assert cloud.login_url == "http://127.0.0.1:8765"


def test_clouds_are_immutable():
    with pytest.raises(AttributeError):
        CLOUDS["global"].graph_url = "https://evil.example"  # type: ignore[misc]
