"""Access tokens for Graph: a fixed token, or app-only tokens from MSAL (secret or certificate).

Every provider has ``get_token() -> str``; the client calls ``invalidate()`` when it has one
(all providers here do) after Graph answered 401, then asks for a fresh token once.

MSAL is built lazily on the first token so that constructing a provider never touches the
network, and it talks HTTP through an httpx client (injectable: tests and the emulator pass
``httpx.Client(transport=...)``). MSAL caches tokens until shortly before they expire.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

import httpx
import msal

from tenantguard.graph.clouds import CLOUDS
from tenantguard.graph.errors import AuthenticationError

__all__ = [
    "MsalCertificateTokenProvider",
    "MsalSecretTokenProvider",
    "StaticTokenProvider",
    "TokenProvider",
]

logger = logging.getLogger("tenantguard.graph")

# MSAL validates authorities it knows; anything else (an emulator) is used as given.
_MICROSOFT_LOGIN_HOSTS = frozenset(
    {urlsplit(cloud.login_url).hostname for cloud in CLOUDS.values()}
    | {"login.microsoft.com", "login.windows.net", "login.partner.microsoftonline.cn"}
)


@runtime_checkable
class TokenProvider(Protocol):
    """Anything that hands out a bearer token for Graph."""

    def get_token(self) -> str: ...


class StaticTokenProvider:
    """Always the same token (tests, the emulator, or a token obtained elsewhere)."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("StaticTokenProvider needs a non-empty token")
        self._token = token

    def __repr__(self) -> str:
        return "StaticTokenProvider(token=***)"

    def get_token(self) -> str:
        return self._token

    def invalidate(self) -> None:
        """Nothing to refresh: a static token stays what it is."""


class _UpgradedResponse:
    """A response whose ``http://`` links to the downgraded host read as ``https://``."""

    def __init__(self, response: Any, *, http_prefix: str, https_prefix: str) -> None:
        self.status_code = response.status_code
        self.headers = response.headers
        self.text = response.text.replace(http_prefix, https_prefix)
        self._response = response

    def json(self) -> Any:
        return json.loads(self.text)

    def raise_for_status(self) -> Any:
        return self._response.raise_for_status()


class _MsalHttpClient:
    """The ``http_client`` MSAL expects (``get``/``post`` returning a response), over httpx.

    Two mismatches are bridged here:

    - MSAL hands form values as ``bytes`` (the signed client assertion); httpx would send
      ``str(bytes)``, so they are decoded first.
    - MSAL only accepts ``https://`` authorities and endpoints. For a plain-HTTP login URL (the
      emulator on loopback) MSAL is given ``https://`` URLs; requests to that host go out over
      ``http://`` and that host's ``http://`` URLs in answers (the OpenID configuration) are
      shown to MSAL as ``https://``.
    """

    def __init__(
        self, client: Any, *, owns_client: bool, downgrade_https_netloc: str | None
    ) -> None:
        self._client = client
        self._owns_client = owns_client
        self._netloc = downgrade_https_netloc

    def _real_url(self, url: str) -> str:
        if self._netloc is None:
            return url
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.netloc == self._netloc:
            return urlunsplit(parts._replace(scheme="http"))
        return url

    def _as_seen_by_msal(self, response: Any) -> Any:
        if self._netloc is None:
            return response
        return _UpgradedResponse(
            response, http_prefix=f"http://{self._netloc}", https_prefix=f"https://{self._netloc}"
        )

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        response = self._client.get(self._real_url(url), params=params, headers=headers)
        return self._as_seen_by_msal(response)

    def post(
        self,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        **kwargs: Any,
    ) -> Any:
        real_url = self._real_url(url)
        if isinstance(data, str | bytes):
            response = self._client.post(real_url, params=params, content=data, headers=headers)
        else:
            form = {
                key: value.decode("utf-8") if isinstance(value, bytes) else value
                for key, value in (data or {}).items()
            }
            response = self._client.post(real_url, params=params, data=form, headers=headers)
        return self._as_seen_by_msal(response)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()


class _MsalTokenProvider:
    """Client-credentials tokens through ``msal.ConfidentialClientApplication``."""

    _credential_hint = "the app's credential"

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        login_url: str,
        graph_url: str,
        http_client: Any = None,
    ) -> None:
        if not tenant_id or not client_id:
            raise ValueError("an MSAL token provider needs both tenant_id and client_id")
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.login_url = login_url.rstrip("/")
        self.graph_url = graph_url.rstrip("/")
        self.scopes = [f"{self.graph_url}/.default"]
        self._http_client = http_client
        self._app: msal.ConfidentialClientApplication | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(tenant_id={self.tenant_id!r}, client_id={self.client_id!r}, "
            f"login_url={self.login_url!r}, credential=***)"
        )

    def _client_credential(self) -> str | dict[str, str]:
        raise NotImplementedError

    def _secrets(self) -> list[str]:
        """Values that must never appear in an error message."""
        raise NotImplementedError

    def _scrub(self, text: str) -> str:
        for secret in self._secrets():
            if secret:
                text = text.replace(secret, "***")
        return text

    def _failure(self, reason: str) -> AuthenticationError:
        description = self._scrub(
            f"Could not get a Graph token for tenant {self.tenant_id} with client id "
            f"{self.client_id} from {self.login_url}: {reason}. Check the tenant id, the client "
            f"id and {self._credential_hint}, and that the app registration lives in this "
            "tenant and cloud."
        )
        return AuthenticationError(description, url=self.login_url)

    def _build_app(self) -> msal.ConfidentialClientApplication:
        parts = urlsplit(self.login_url)
        downgrade = parts.netloc if parts.scheme == "http" else None
        authority_root = urlunsplit(parts._replace(scheme="https")) if downgrade else self.login_url
        if self._http_client is None:
            http_client = _MsalHttpClient(
                httpx.Client(timeout=30.0), owns_client=True, downgrade_https_netloc=downgrade
            )
        else:
            http_client = _MsalHttpClient(
                self._http_client, owns_client=False, downgrade_https_netloc=downgrade
            )
        known_authority = parts.hostname in _MICROSOFT_LOGIN_HOSTS and not downgrade
        extra: dict[str, Any] = {}
        if not known_authority:
            extra = {"instance_discovery": False, "validate_authority": False}
        return msal.ConfidentialClientApplication(
            self.client_id,
            authority=f"{authority_root}/{self.tenant_id}",
            client_credential=self._client_credential(),
            http_client=http_client,
            **extra,
        )

    def _application(self) -> msal.ConfidentialClientApplication:
        with self._lock:
            if self._app is None:
                try:
                    self._app = self._build_app()
                except Exception as exc:  # MSAL and its crypto raise many kinds; all mean no token
                    raise self._failure(
                        "MSAL could not be set up: the login authority was unreachable or did not "
                        f"describe itself, or the credential is unreadable ({type(exc).__name__}: "
                        f"{exc})"
                    ) from exc
            return self._app

    def get_token(self) -> str:
        app = self._application()
        try:
            result = app.acquire_token_for_client(scopes=self.scopes)
        except Exception as exc:  # MSAL and its crypto raise many kinds; all mean no token
            raise self._failure(f"the token request failed ({type(exc).__name__}: {exc})") from exc
        if not isinstance(result, dict):
            raise self._failure("MSAL returned no result")
        token = result.get("access_token")
        if isinstance(token, str) and token:
            logger.debug(
                "Graph token for tenant %s from %s (%s)",
                self.tenant_id,
                self.login_url,
                result.get("token_source", "identity provider"),
            )
            return token
        error = result.get("error") or "unknown_error"
        description = (result.get("error_description") or "").strip()
        raise self._failure(f"{error}: {description}" if description else str(error))

    def invalidate(self) -> None:
        """Forget cached access tokens so the next ``get_token`` asks the authority again."""
        with self._lock:
            app = self._app
        if app is None:
            return
        cache = app.token_cache
        for item in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(item)


class MsalSecretTokenProvider(_MsalTokenProvider):
    """App-only tokens for an app registration with a client secret."""

    _credential_hint = "the client secret (the secret's value, not its id; not expired)"

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        login_url: str,
        graph_url: str,
        http_client: Any = None,
    ) -> None:
        super().__init__(
            tenant_id=tenant_id,
            client_id=client_id,
            login_url=login_url,
            graph_url=graph_url,
            http_client=http_client,
        )
        if not client_secret:
            raise ValueError("MsalSecretTokenProvider needs a non-empty client_secret")
        self._client_secret = client_secret

    def _client_credential(self) -> str:
        return self._client_secret

    def _secrets(self) -> list[str]:
        return [self._client_secret]


class MsalCertificateTokenProvider(_MsalTokenProvider):
    """App-only tokens for an app registration with a certificate (private key + thumbprint)."""

    _credential_hint = (
        "the certificate (its public part uploaded to the app registration, the SHA-1 thumbprint "
        "matching it, not expired)"
    )

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        private_key_pem: str,
        thumbprint: str,
        login_url: str,
        graph_url: str,
        http_client: Any = None,
    ) -> None:
        super().__init__(
            tenant_id=tenant_id,
            client_id=client_id,
            login_url=login_url,
            graph_url=graph_url,
            http_client=http_client,
        )
        if not private_key_pem or not thumbprint:
            raise ValueError("MsalCertificateTokenProvider needs private_key_pem and thumbprint")
        self._private_key_pem = private_key_pem
        self._thumbprint = thumbprint.replace(":", "").strip()

    def _client_credential(self) -> dict[str, str]:
        return {"private_key": self._private_key_pem, "thumbprint": self._thumbprint}

    def _secrets(self) -> list[str]:
        return [self._private_key_pem]
