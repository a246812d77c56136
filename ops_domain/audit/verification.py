"""``audit verify``: seal, then prove the log untampered (hash chain, published heads) and
complete (rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from ops_domain.audit.chain import (
    ChainPosition,
    ChainReport,
    SealReport,
    chain_head,
    verify_chain,
)
from ops_domain.audit.completeness import MissingLink, missing_audit_links, rule_count
from ops_domain.audit.published import (
    HeadComparison,
    compare_with_published,
    last_checkpoint,
    record_checkpoint,
    source_of,
)
from ops_domain.audit.sealing import SealOutcome, seal_and_publish
from ops_domain.clock import as_utc
from ops_domain.db import transaction
from ops_domain.errors import InvalidInput

_WINDOW_IDS = text(
    """
    SELECT min(id) AS first_id, max(id) AS last_id FROM audit_log
     WHERE (CAST(:since AS timestamptz) IS NULL OR created_at >= :since)
       AND (CAST(:until AS timestamptz) IS NULL OR created_at < :until)
    """
)


@dataclass(frozen=True)
class AuditVerdict:
    seal: SealReport
    publication: str  # of this run's seal: "published", "not configured", "not sealed"...
    chain: ChainReport
    heads: HeadComparison | None  # None: no audit export database to compare with
    missing: list[MissingLink]
    rules: int
    since: datetime | None
    until: datetime | None
    checkpoint: ChainPosition | None = None  # the chain was checked past this link only

    @property
    def ok(self) -> bool:
        return self.chain.intact and self.heads_agree and not self.missing

    @property
    def heads_agree(self) -> bool:
        return self.heads is None or self.heads.problem is None

    @property
    def first_problem(self) -> str | None:
        if not self.chain.intact:
            return self.chain.problem
        if self.heads is not None and self.heads.problem is not None:
            return self.heads.problem
        return self.missing[0].describe() if self.missing else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "first_problem": self.first_problem,
            "window": {"since": self.since, "until": self.until},
            "sealed_now": self.seal.sealed,
            "publication": self.publication,
            "chain_head": {
                "link_no": self.seal.head_link,
                "audit_id": self.seal.head_id,
                "hash": self.seal.head_hash,
            },
            "chain_epoch": self.seal.epoch,
            "chain_rows_checked": self.chain.checked,
            "chain_checked_links": [self.chain.first_link, self.chain.last_link],
            "chain_checked_after": vars(self.checkpoint) if self.checkpoint else None,
            "chain_first_break": self.chain.first_break_id,
            "published_heads_compared": self.heads.compared if self.heads else None,
            "published_heads_of_earlier_epochs": self.heads.earlier_epochs if self.heads else None,
            "completeness_rules": self.rules,
            "missing": [vars(link) | {"description": link.describe()} for link in self.missing],
        }


def verify_audit_log(
    engine: Engine,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sealer: Engine | None = None,
    export: Engine | None = None,
    full: bool = False,
) -> AuditVerdict:
    """Seal new rows (as ``sealer``, when given) and publish the head (to ``export``),
    recheck the chain over the window's audit rows (whole log without a window), compare it
    with every head published to ``export`` in the chain's epoch, and check the completeness
    rules for records changed in the window.

    Without a window, the chain is checked past the last checkpoint of a verify that found it
    intact (kept in ``export``; ``full``: from the first link), and an intact chain moves the
    checkpoint to its head. Without ``export`` there is nowhere safe to keep a checkpoint:
    every link is checked."""
    since = as_utc(since) if since is not None else None
    until = as_utc(until) if until is not None else None
    if since is not None and until is not None and since >= until:
        raise InvalidInput(
            f"--since {since.isoformat()} must be before --until {until.isoformat()}"
        )
    sealed = (
        seal_and_publish(sealer, export)
        if sealer is not None
        else SealOutcome(chain_head(engine), "not sealed: this login may not seal")
    )
    windowed = since is not None or until is not None
    source = source_of(engine)
    checkpoint = None
    if export is not None and not windowed and not full:
        checkpoint = last_checkpoint(export, source, sealed.seal.epoch)
    chain = (
        _verify_window(engine, since, until) if windowed else verify_chain(engine, after=checkpoint)
    )
    heads = compare_with_published(engine, export) if export is not None else None
    if heads is not None and heads.problem is None and not windowed and chain.intact:
        _move_checkpoint(export, source, sealed.seal.epoch, chain)
    return AuditVerdict(
        seal=sealed.seal,
        publication=sealed.publication,
        chain=chain,
        heads=heads,
        missing=missing_audit_links(engine, since=since, until=until),
        rules=rule_count(),
        since=since,
        until=until,
        checkpoint=checkpoint,
    )


def _move_checkpoint(export: Engine | None, source: str, epoch: int, chain: ChainReport) -> None:
    """An intact chain that agrees with its published heads is checkpointed at its head."""
    if export is not None and chain.last_link is not None and chain.last_hash is not None:
        record_checkpoint(export, source, epoch, chain.last_link, chain.last_hash)


def _verify_window(engine: Engine, since: datetime | None, until: datetime | None) -> ChainReport:
    with transaction(engine) as session:
        window = session.execute(_WINDOW_IDS, {"since": since, "until": until}).one()
    if window.first_id is None:
        return ChainReport(checked=0, first_break_id=None, problem=None)
    return verify_chain(engine, first_id=window.first_id, last_id=window.last_id)
