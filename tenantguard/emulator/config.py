"""Configuration knobs of the Graph emulator (see README.md in this package)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

_T = TypeVar("_T")


class Clock(Protocol):
    """Time source; tests inject a fake one."""

    def monotonic(self) -> float: ...


def wall_time(clock: object) -> float:
    """Seconds since the epoch through ``clock.time()`` when the clock has it (a fake clock),
    else ``time.time()``: the instant client assertions' ``exp``/``nbf`` are checked against."""
    now = getattr(clock, "time", None)
    return float(now()) if callable(now) else time.time()


class SystemClock:
    """The real clock: ``time.monotonic``, ``time.time`` and ``time.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class ThrottleConfig:
    """Intune throttling, per sliding window (reference: 20 s, limits below).

    ``window_seconds`` may be scaled down (e.g. 2.0) with the same counts to make throttling
    reachable in tests; ``enabled=False`` switches it off.
    """

    enabled: bool = True
    window_seconds: float = 20.0
    tenant_write_limit: int = 200
    tenant_request_limit: int = 2000
    app_write_limit: int = 100
    app_request_limit: int = 1000

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ThrottleConfig:
        return _from_dict(cls, data)


#: How an applied request's answer can be lost (``FaultConfig.lost_answers``).
LOST_ANSWER_KINDS = ("504", "drop", "timeout")


@dataclass
class FaultConfig:
    """Injected failures, per tenant.

    - ``error_rates``: HTTP method -> probability (0..1) that a request fails.
    - ``error_statuses``: statuses a random failure picks from (429 carries ``Retry-After``).
    - ``retry_after_seconds``: value of ``Retry-After`` on injected 429s (and 503s).
    - ``latency_ms``: added to every Graph request (outside the state lock).
    - ``failing_ids``: object id -> status; any request whose path names that id fails.
    - ``seed``: seed of the random generator, so a run is reproducible.
    - ``approval_required``: simulate Multi Admin Approval: every Intune write is answered
      ``approval_required_status`` (400 or 403) with code ``ApprovalRequired``.
    - ``lost_answer_rates``: HTTP method -> probability (0..1) that a request is applied and
      then its answer is lost, like a gateway timing out after the service did the work.
    - ``lost_answers``: how a lost answer looks, picked at random: ``"504"`` (a Gateway
      Timeout answer), ``"drop"`` (the connection closes without an answer; in process
      ``httpx.RemoteProtocolError``), ``"timeout"`` (in process ``httpx.ReadTimeout``; over
      HTTP the connection closes like ``"drop"``). A ``$batch`` part answered ``"504"`` gets a
      504 sub-response; ``"drop"``/``"timeout"`` lose the whole ``$batch`` answer after every
      part ran.
    """

    error_rates: dict[str, float] = field(default_factory=dict)
    error_statuses: tuple[int, ...] = (429, 503, 504)
    retry_after_seconds: int = 1
    latency_ms: int = 0
    failing_ids: dict[str, int] = field(default_factory=dict)
    seed: int | None = 0
    approval_required: bool = False
    approval_required_status: int = 400
    lost_answer_rates: dict[str, float] = field(default_factory=dict)
    lost_answers: tuple[str, ...] = ("504", "drop")

    def __post_init__(self) -> None:
        unknown = set(self.lost_answers) - set(LOST_ANSWER_KINDS)
        if unknown:
            raise ValueError(
                f"unknown lost_answers value(s) {sorted(unknown)}: use "
                f"{', '.join(LOST_ANSWER_KINDS)}"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultConfig:
        data = dict(data)
        if "lost_answers" in data:
            data["lost_answers"] = tuple(str(kind) for kind in data["lost_answers"])
        config = _from_dict(cls, data)
        config.error_rates = {str(k).upper(): float(v) for k, v in config.error_rates.items()}
        config.error_statuses = tuple(int(s) for s in config.error_statuses)
        config.failing_ids = {str(k): int(v) for k, v in config.failing_ids.items()}
        config.lost_answer_rates = {
            str(k).upper(): float(v) for k, v in config.lost_answer_rates.items()
        }
        return config

    def to_dict(self) -> dict[str, object]:
        return {
            "error_rates": dict(self.error_rates),
            "error_statuses": list(self.error_statuses),
            "retry_after_seconds": self.retry_after_seconds,
            "latency_ms": self.latency_ms,
            "failing_ids": dict(self.failing_ids),
            "seed": self.seed,
            "approval_required": self.approval_required,
            "approval_required_status": self.approval_required_status,
            "lost_answer_rates": dict(self.lost_answer_rates),
            "lost_answers": list(self.lost_answers),
        }


@dataclass
class EmulatorConfig:
    """Emulator-wide settings.

    - ``throttle``: see :class:`ThrottleConfig`.
    - ``faults``: default :class:`FaultConfig` for tenants added without their own.
    - ``admin_token``: when set, ``/_emulator/...`` requires header ``X-Emulator-Admin-Token``.
    - ``clock``: object with ``monotonic()`` (and optionally ``sleep(seconds)`` used for
      injected latency, and ``time()``, epoch seconds for client assertions' ``exp``/``nbf``,
      else ``time.time()``); defaults to the system clock.
    - ``default_page_size``: page size of Intune collections that have no Graph-specific size.
    - ``shuffle_batch_responses``: answer ``$batch`` sub-responses in reverse order.
    - ``request_log_limit``: ``GraphEmulator.request_log`` keeps this many newest entries.
    - ``oma_secret_placeholder``: what an encrypted OMA-URI setting shows as ``value``
      (None = null; some tenants show ``"****"``).
    - ``validate_references``: writes naming a scope tag or an assignment filter that does not
      exist in the tenant are answered 400 (seeds and Python-side writes are not checked).
    """

    throttle: ThrottleConfig = field(default_factory=ThrottleConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    admin_token: str | None = None
    clock: Clock = field(default_factory=SystemClock)
    default_page_size: int = 100
    shuffle_batch_responses: bool = True
    request_log_limit: int = 100_000
    validate_references: bool = True
    oma_secret_placeholder: str | None = None


def _from_dict(cls: type[_T], data: dict[str, Any]) -> _T:
    known = set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__} field(s): {', '.join(sorted(unknown))}")
    return cls(**data)
