"""Settings read from the environment, in one typed object passed to services explicitly."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ops_domain.clock import require_hours
from ops_domain.errors import InvalidInput

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
DATABASE_URL_ENV = "OPS_DATABASE_URL"
DEFAULT_METRICS_URL = "http://127.0.0.1:9464/metrics"
WAIVER_MAX_DAYS_ENV = "OPS_WAIVER_MAX_DAYS"
MAX_WAIVER_DAYS = 365
DEFAULT_WAIVER_MAX_DAYS = 14
# The Keycloak hardening check reads these raw: a malformed one is a finding, never a crash.
KEYCLOAK_PREFIX = "KEYCLOAK_"
VAR_DIR_ENV = "OPS_VAR_DIR"
# Written by the local stack (``make demo``, ``make airflow``): the settings it runs with, so a
# CLI in a plain shell on the same embedded server agrees with them (e.g. enabled currencies).
LOCAL_SETTINGS_FILE = "local-settings.env"


def local_settings_path(var_dir: Path) -> Path:
    return var_dir / LOCAL_SETTINGS_FILE


def write_local_settings(var_dir: Path, settings: Mapping[str, str]) -> Path:
    """Store the local stack's settings (``NAME=value`` lines, owner-only) for later shells."""
    path = local_settings_path(var_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{name}={value}" for name, value in sorted(settings.items())]
    header = "# written by the local stack; defaults when OPS_DATABASE_URL is unset\n"
    path.write_text(header + "\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def read_local_settings(var_dir: Path) -> dict[str, str]:
    path = local_settings_path(var_dir)
    if not path.is_file():
        return {}
    found = (line.partition("=") for line in path.read_text().splitlines())
    return {name.strip(): value for name, sep, value in found if sep and not name.startswith("#")}


def process_environment() -> dict[str, str]:
    """The process environment; when the embedded default database is in use (no
    ``OPS_DATABASE_URL``), over the settings the local stack stored for it. A variable set in
    the shell always wins; a configured database never sees the local file."""
    env = dict(os.environ)
    if env.get(DATABASE_URL_ENV):
        return env
    var_dir = Path(env.get(VAR_DIR_ENV) or PROJECT_ROOT / "var")
    return {**read_local_settings(var_dir), **env}


def _env_int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise InvalidInput(f"{name} must not be negative, got {value}")
    return value


def _env_decimal(env: dict[str, str], name: str, default: str) -> Decimal:
    raw = env.get(name) or default
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise InvalidInput(f"{name} must be a decimal amount, got {raw!r}") from None


def _env_switch(env: dict[str, str], name: str, default: bool = False) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in {"0", "false", "no", "off"}:
        return False
    if raw in {"1", "true", "yes", "on"}:
        return True
    raise InvalidInput(f"{name} must be true or false, got {env[name]!r}")


def _env_text(env: dict[str, str], name: str) -> str | None:
    return (env.get(name) or "").strip() or None


def _env_date(env: dict[str, str], name: str, default: date) -> date:
    raw = _env_text(env, name)
    try:
        return date.fromisoformat(raw) if raw else default
    except ValueError:
        raise InvalidInput(f"{name} must be a date like 2026-11-01, got {raw!r}") from None


def _env_currencies(env: dict[str, str]) -> frozenset[str]:
    raw = env.get("OPS_ENABLED_CURRENCIES") or "USD"
    codes = [code.strip() for code in raw.split(",") if code.strip()]
    bad = [code for code in codes if not CURRENCY_PATTERN.match(code)]
    if bad or not codes:
        raise InvalidInput(
            f"OPS_ENABLED_CURRENCIES must list upper-case 3-letter codes, got {raw!r}"
        )
    return frozenset(codes)


def _env_limits(env: dict[str, str], name: str) -> dict[str, Decimal]:
    """``IDR:150000000.00,EUR:9000`` -> per-currency amounts (currencies differ by orders of
    magnitude, so one limit for all would post nothing in IDR or everything in USD)."""
    limits: dict[str, Decimal] = {}
    for pair in filter(None, (part.strip() for part in (env.get(name) or "").split(","))):
        code, _, amount = pair.partition(":")
        code = code.strip()
        if not CURRENCY_PATTERN.match(code):
            raise InvalidInput(f"{name}: {code!r} is not an upper-case 3-letter currency code")
        limits[code] = _env_decimal({name: amount.strip()}, name, "")
    return limits


def _env_waiver_max_days(env: dict[str, str]) -> int:
    """How many days ahead a waiver may expire (1..365, default 14); a malformed value is
    refused by name, never read as the default."""
    raw = (env.get(WAIVER_MAX_DAYS_ENV) or "").strip()
    if not raw:
        return DEFAULT_WAIVER_MAX_DAYS
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_WAIVER_DAYS:
        raise InvalidInput(
            f"{WAIVER_MAX_DAYS_ENV} must be a whole number of days 1..{MAX_WAIVER_DAYS},"
            f" got {raw!r}"
        )
    return int(raw)


@dataclass(frozen=True)
class RollbackPolicy:
    """The rollback watch's thresholds and switches (SPEC 7).

    ``OPS_ROLLBACK_BREAKS_ABS`` (default 5) and ``OPS_ROLLBACK_BREAKS_REL`` (default 0.5): the
    reconciliation-break trigger fires only when the rise over the snapshot exceeds both.
    ``OPS_ROLLBACK_POSTING_REFUSALS`` (default 0): postings refused by period-close controls
    since the release that are tolerated (0: any refusal fires).
    ``OPS_ROLLBACK_CHARGEBACK_REFUSALS`` (default 2): refused chargeback transitions tolerated
    since the release, so one operator slip does not recommend a rollback (a chargeback past
    due without a transition always fires). ``OPS_AUTO_FREEZE_ON_ROLLBACK`` (default false): a
    firing trigger freezes payouts globally. ``OPS_ROLLBACK_WATCH_HOURS`` (default 24): how
    long after its release the scheduled watch keeps looking at a release.
    """

    breaks_abs: int = 5
    breaks_rel: Decimal = Decimal("0.5")
    posting_refusals: int = 0
    auto_freeze: bool = False
    watch_hours: int = 24
    chargeback_refusals: int = 2

    @classmethod
    def from_env(cls, env: dict[str, str]) -> RollbackPolicy:
        relative = _env_decimal(env, "OPS_ROLLBACK_BREAKS_REL", "0.5")
        if not relative.is_finite() or relative < 0:
            raise InvalidInput(f"OPS_ROLLBACK_BREAKS_REL must be 0 or more, got {relative}")
        return cls(
            breaks_abs=_env_int(env, "OPS_ROLLBACK_BREAKS_ABS", 5),
            breaks_rel=relative,
            posting_refusals=_env_int(env, "OPS_ROLLBACK_POSTING_REFUSALS", 0),
            chargeback_refusals=_env_int(env, "OPS_ROLLBACK_CHARGEBACK_REFUSALS", 2),
            auto_freeze=_env_switch(env, "OPS_AUTO_FREEZE_ON_ROLLBACK"),
            watch_hours=int(
                require_hours(
                    max(1, _env_int(env, "OPS_ROLLBACK_WATCH_HOURS", 24)),
                    "OPS_ROLLBACK_WATCH_HOURS",
                )
            ),
        )


def _limits_json(limits: Mapping[str, Decimal]) -> str:
    return json.dumps({code: str(amount) for code, amount in limits.items()})


@dataclass(frozen=True)
class Settings:
    """Everything configurable about the business rules and the runtime."""

    enabled_currencies: frozenset[str] = frozenset({"USD"})
    auto_post_limit: Decimal = Decimal("10000.00")
    auto_post_limits: Mapping[str, Decimal] = field(default_factory=dict)
    payout_second_approval_limit: Decimal = Decimal("10000.00")
    payout_second_approval_limits: Mapping[str, Decimal] = field(default_factory=dict)
    refund_sla_hours: int = 48
    settlement_max_window_days: int = 7
    batch_size: int = 500
    service_actor: str = "svc_airflow"
    metrics_local_mode: bool = False
    var_dir: Path = field(default=PROJECT_ROOT / "var")
    # how long a job waits for a row or advisory lock before it gives up (exit 3)
    lock_timeout_seconds: int = 30
    # the ops database given explicitly (else the embedded server's), and its owner's login
    ops_database_url: str | None = field(default=None, repr=False)
    owner_database_url: str | None = field(default=None, repr=False)
    # the login that seals the audit log, and the audit export database its heads go to
    sealer_database_url: str | None = None
    audit_export_url: str | None = None
    # the release checks' targets (SPEC 5): the databases kept apart, the scratch database
    # of the smoke scenarios, the metrics endpoint and its Prometheus, the Keycloak settings
    airflow_metadata_url: str | None = None
    db_isolation_strict: bool = True
    test_database_url: str | None = None
    metrics_url: str = DEFAULT_METRICS_URL
    prometheus_url: str | None = None
    metrics_token: str | None = field(default=None, repr=False)
    keycloak: Mapping[str, str] = field(default_factory=dict, repr=False)
    waiver_max_days: int = DEFAULT_WAIVER_MAX_DAYS
    rollback: RollbackPolicy = field(default_factory=RollbackPolicy)
    # the release and environment a command acts on when none is named
    release_id: str = "unversioned"
    environment: str | None = None
    # the first business day the settlement DAG's schedule covers
    settlement_start_date: date = date(2026, 11, 1)
    log_level: str = "WARNING"
    debug: bool = False
    # the first retry's delay of a DAG task after a transient error
    task_retry_delay_seconds: int = 30
    # demo data may wipe a database other than the embedded one
    allow_reset: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """From ``env``, or else from the process environment (``process_environment``)."""
        env = process_environment() if env is None else dict(env)
        return cls(
            enabled_currencies=_env_currencies(env),
            auto_post_limit=_env_decimal(env, "OPS_AUTO_POST_LIMIT", "10000.00"),
            auto_post_limits=_env_limits(env, "OPS_AUTO_POST_LIMITS"),
            payout_second_approval_limit=_env_decimal(
                env, "OPS_PAYOUT_SECOND_APPROVAL_LIMIT", "10000.00"
            ),
            payout_second_approval_limits=_env_limits(env, "OPS_PAYOUT_SECOND_APPROVAL_LIMITS"),
            refund_sla_hours=int(
                require_hours(_env_int(env, "OPS_REFUND_SLA_HOURS", 48), "OPS_REFUND_SLA_HOURS")
            ),
            settlement_max_window_days=max(1, _env_int(env, "OPS_SETTLEMENT_MAX_WINDOW_DAYS", 7)),
            batch_size=max(1, _env_int(env, "OPS_BATCH_SIZE", 500)),
            service_actor=env.get("OPS_SERVICE_ACTOR") or "svc_airflow",
            metrics_local_mode=_env_switch(env, "OPS_METRICS_LOCAL_MODE"),
            var_dir=Path(env.get(VAR_DIR_ENV) or PROJECT_ROOT / "var"),
            lock_timeout_seconds=max(1, _env_int(env, "OPS_LOCK_TIMEOUT_SECONDS", 30)),
            ops_database_url=_env_text(env, DATABASE_URL_ENV),
            owner_database_url=_env_text(env, "OPS_OWNER_DATABASE_URL"),
            sealer_database_url=_env_text(env, "OPS_SEALER_DATABASE_URL"),
            audit_export_url=_env_text(env, "OPS_AUDIT_DATABASE_URL"),
            airflow_metadata_url=_env_text(env, "OPS_AIRFLOW_METADATA_URL"),
            db_isolation_strict=_env_switch(env, "OPS_DB_ISOLATION_STRICT", default=True),
            test_database_url=_env_text(env, "OPS_TEST_DATABASE_URL"),
            metrics_url=_env_text(env, "OPS_METRICS_URL") or DEFAULT_METRICS_URL,
            prometheus_url=_env_text(env, "OPS_PROMETHEUS_URL"),
            metrics_token=_env_text(env, "OPS_METRICS_TOKEN"),
            keycloak={k: v for k, v in env.items() if k.startswith(KEYCLOAK_PREFIX)},
            waiver_max_days=_env_waiver_max_days(env),
            rollback=RollbackPolicy.from_env(env),
            release_id=_env_text(env, "OPS_RELEASE_ID") or "unversioned",
            environment=_env_text(env, "OPS_ENVIRONMENT"),
            settlement_start_date=_env_date(env, "OPS_SETTLEMENT_START_DATE", date(2026, 11, 1)),
            log_level=_env_text(env, "OPS_LOG_LEVEL") or "WARNING",
            debug=_env_switch(env, "OPS_DEBUG"),
            allow_reset=env.get("OPS_ALLOW_RESET") == "1",
            task_retry_delay_seconds=_env_int(env, "OPS_TASK_RETRY_DELAY_SECONDS", 30),
        )

    def auto_post_limit_for(self, currency: str) -> Decimal:
        """Settlements of ``currency`` with net at or below this are posted by policy."""
        return self.auto_post_limits.get(currency, self.auto_post_limit)

    def payout_second_approval_limit_for(self, currency: str) -> Decimal:
        """Payouts of ``currency`` above this need a first approval before another checker
        sends them."""
        return self.payout_second_approval_limits.get(currency, self.payout_second_approval_limit)

    def auto_post_limits_json(self) -> str:
        """The per-currency overrides as a JSON object, for SQL that posts set-based."""
        return _limits_json(self.auto_post_limits)

    def payout_second_approval_limits_json(self) -> str:
        """The per-currency second-approval overrides as a JSON object, for set-based SQL."""
        return _limits_json(self.payout_second_approval_limits)

    def require_currency(self, code: str) -> str:
        """Return ``code`` if it is an enabled currency, else refuse it by name."""
        if not CURRENCY_PATTERN.match(code or ""):
            raise InvalidInput(f"currency must be an upper-case 3-letter code, got {code!r}")
        if code not in self.enabled_currencies:
            enabled = ", ".join(sorted(self.enabled_currencies))
            raise InvalidInput(f"currency {code} is not enabled (enabled: {enabled})")
        return code
