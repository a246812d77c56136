"""Sealing on its own: as the sealing role, every few minutes and at the end of each job.

The application role may read the chain but not extend it, so sealing needs its own login
(``OPS_SEALER_DATABASE_URL``: the role ``db grant-sealer-role`` sets up). Each seal's head is
then published to the audit export database (``OPS_AUDIT_DATABASE_URL``), whose login the ops
database's logins are not (``ops_domain.audit.published``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

from ops_domain.audit.chain import SealReport, seal_audit_log
from ops_domain.audit.published import publish_head, source_of
from ops_domain.config import Settings
from ops_domain.db import create_ops_engine, normalise_driver, transaction
from ops_domain.errors import InfrastructureError, InvalidInput

log = logging.getLogger(__name__)
INSUFFICIENT_PRIVILEGE = "42501"


@dataclass(frozen=True)
class SealOutcome:
    seal: SealReport
    publication: str  # "published", "already published" or "not configured"

    def to_dict(self) -> dict[str, object]:
        return {
            "sealed": self.seal.sealed,
            "head_link": self.seal.head_link,
            "head_id": self.seal.head_id,
            "head_hash": self.seal.head_hash,
            "publication": self.publication,
        }

    def describe(self) -> str:
        return (
            f"sealed {self.seal.sealed} audit row(s); head link {self.seal.head_link}"
            f" (row #{self.seal.head_id}) {self.seal.head_hash}; head {self.publication}"
        )


@contextmanager
def engine_at(url: str | None) -> Iterator[Engine | None]:
    """An engine for ``url`` for the duration of a block (None when there is no URL)."""
    if url is None:
        yield None
        return
    engine = create_ops_engine(normalise_driver(url), pool_size=1)
    try:
        yield engine
    finally:
        engine.dispose()


def may_seal(engine: Engine) -> bool:
    """Whether this login may extend the chain (the sealing role, the owner)."""
    with transaction(engine) as session:
        return session.execute(
            text("SELECT has_table_privilege('audit_chain', 'INSERT')")
        ).scalar_one()


def seal_and_publish(sealer: Engine, export: Engine | None) -> SealOutcome:
    """Seal as ``sealer``, then publish the head to ``export`` when there is one."""
    try:
        report = seal_audit_log(sealer)
    except ProgrammingError as exc:
        if getattr(exc.orig, "pgcode", None) != INSUFFICIENT_PRIVILEGE:
            raise
        raise InfrastructureError(
            "this login may not seal the audit log: set OPS_SEALER_DATABASE_URL to the"
            " sealing role's URL (db grant-sealer-role)"
        ) from None
    if export is None:
        return SealOutcome(report, "not configured")
    published = publish_head(export, source_of(sealer), report)
    return SealOutcome(report, "published" if published else "already published")


def seal_configured(settings: Settings) -> SealOutcome:
    """The scheduled seal: refuses to run without its own login (fails closed)."""
    if settings.sealer_database_url is None:
        raise InvalidInput("OPS_SEALER_DATABASE_URL is not set: nobody seals the audit log")
    with (
        engine_at(settings.sealer_database_url) as sealer,
        engine_at(settings.audit_export_url) as export,
    ):
        assert sealer is not None
        return seal_and_publish(sealer, export)


def seal_after_job(settings: Settings, job: str) -> None:
    """Seal what a job just wrote, when a sealing login is configured. The job's work has
    committed: a failed seal is logged, and the scheduled seal catches up."""
    if settings.sealer_database_url is None:
        return
    try:
        outcome = seal_configured(settings)
    except Exception as exc:  # the job succeeded; its rows are sealed by the next seal
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.warning("%s: sealing the audit log after the job failed: %s", job, first_line)
        return
    log.info("%s: %s", job, outcome.describe())
