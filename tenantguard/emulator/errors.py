"""Graph-shaped errors raised inside the emulator and rendered by the WSGI layer."""

from __future__ import annotations

import json
from datetime import UTC, datetime


class EmulatorHTTPError(Exception):
    """An error response: ``status`` + Graph error ``code`` + human ``message``.

    ``intune=True`` renders the message the way Intune does: a JSON *string* holding
    ``{"_version": 3, "Message": "...", ...}``.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        intune: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.intune = intune
        self.headers = headers or {}

    def body(self, *, request_id: str, client_request_id: str, url: str) -> dict[str, object]:
        message = self.message
        if self.intune:
            message = intune_message(message, request_id=request_id, url=url)
        return {
            "error": {
                "code": self.code,
                "message": message,
                "innerError": {
                    "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": request_id,
                    "client-request-id": client_request_id,
                },
            }
        }


def intune_message(text: str, *, request_id: str, url: str) -> str:
    """Intune wraps its messages in a JSON string with a version and diagnostic ids."""
    return json.dumps(
        {
            "_version": 3,
            "Message": (
                f"{text} - Operation ID (for customer support): "
                f"00000000-0000-0000-0000-000000000000 - Activity ID: {request_id} - "
                f"Url: {url} - CustomApiErrorPhrase: "
            ),
            "CustomApiErrorPhrase": "",
            "RetryAfter": None,
            "ErrorSourceService": "",
            "HttpHeaders": "{}",
        }
    )


def bad_request(message: str, *, intune: bool = True) -> EmulatorHTTPError:
    return EmulatorHTTPError(400, "BadRequest", message, intune=intune)


def no_route(path: str) -> EmulatorHTTPError:
    return EmulatorHTTPError(
        400,
        "No method match route template",
        f"No OData route exists that match template for '{path}'.",
    )


def not_found(kind: str, object_id: str, *, directory: bool = False) -> EmulatorHTTPError:
    if directory:
        return EmulatorHTTPError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{object_id}' does not exist or one of its queried reference-property "
            "objects are not present.",
        )
    return EmulatorHTTPError(
        404, "ResourceNotFound", f"No {kind} with id '{object_id}' was found.", intune=True
    )
