"""Microsoft Graph over HTTP for TenantGuard (httpx + MSAL). No Django imports here.

See ``docs/architecture.md`` section 1 for the contract and ``errors`` for the exception tree.
"""

from __future__ import annotations

from tenantguard.graph.auth import (
    MsalCertificateTokenProvider,
    MsalSecretTokenProvider,
    StaticTokenProvider,
    TokenProvider,
)
from tenantguard.graph.batch import BatchRequest, BatchResponse
from tenantguard.graph.client import GraphClient
from tenantguard.graph.clouds import CLOUDS, Cloud
from tenantguard.graph.errors import (
    ApprovalRequiredError,
    AuthenticationError,
    BadRequestError,
    GraphError,
    GraphTransportError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    ServerError,
    ThrottledError,
)
from tenantguard.graph.pacing import RequestPacer, SlidingWindowPacer, WritePacer
from tenantguard.graph.retry import Clock, RetryPolicy, SystemClock

__all__ = [
    "CLOUDS",
    "ApprovalRequiredError",
    "AuthenticationError",
    "BadRequestError",
    "BatchRequest",
    "BatchResponse",
    "Clock",
    "Cloud",
    "GraphClient",
    "GraphError",
    "GraphTransportError",
    "MsalCertificateTokenProvider",
    "MsalSecretTokenProvider",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RequestPacer",
    "RetryPolicy",
    "ServerError",
    "SlidingWindowPacer",
    "StaticTokenProvider",
    "SystemClock",
    "ThrottledError",
    "TokenProvider",
    "WritePacer",
]
