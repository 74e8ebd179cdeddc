"""Microsoft national clouds: where Graph and the login authority live.

Tokens do not cross clouds: a tenant's Graph URL and login URL always come from the same
``Cloud``. Keep these URLs as configuration (this table or a custom ``Cloud``), never as literals
elsewhere in the code.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CLOUDS", "Cloud"]


@dataclass(frozen=True, slots=True)
class Cloud:
    """A Graph root (no version segment) and the login authority host that issues its tokens."""

    name: str
    graph_url: str
    login_url: str

    def __post_init__(self) -> None:
        # "https://graph.microsoft.com/" and "https://graph.microsoft.com" must behave the same
        object.__setattr__(self, "graph_url", self.graph_url.rstrip("/"))
        object.__setattr__(self, "login_url", self.login_url.rstrip("/"))


CLOUDS: dict[str, Cloud] = {
    "global": Cloud(
        "global",
        graph_url="https://graph.microsoft.com",
        login_url="https://login.microsoftonline.com",
    ),
    "usgov": Cloud(
        "usgov",
        graph_url="https://graph.microsoft.us",
        login_url="https://login.microsoftonline.us",
    ),
    "usgov_dod": Cloud(
        "usgov_dod",
        graph_url="https://dod-graph.microsoft.us",
        login_url="https://login.microsoftonline.us",
    ),
    "china": Cloud(
        "china",
        graph_url="https://microsoftgraph.chinacloudapi.cn",
        login_url="https://login.chinacloudapi.cn",
    ),
}
