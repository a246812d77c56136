"""The actor check and the job runner every job goes through."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from ops_domain.config import Settings
from ops_domain.db import transaction
from ops_domain.errors import ActorNotAllowed, InactiveActor, MakerCheckerViolation, UnknownActor
from ops_domain.jobs import JobContext, JobResult, JobSpec, run_job
from ops_domain.rbac.actors import load_actor, require_actor, require_checker
from tests.support.factories import Factory

SPEC = JobSpec("automate_settlements", "settlements.run")


def test_actor_check_names_the_actor_the_job_and_the_accepted_roles(
    engine: Engine, factory: Factory
) -> None:
    factory.user("sam", "sales")
    with transaction(engine) as session, pytest.raises(ActorNotAllowed) as refused:
        require_actor(session, "sam", "settlements.run", "automate_settlements")
    message = str(refused.value)
    assert "'sam'" in message
    assert "automate_settlements" in message
    assert "admin, finance, operation, super_admin" in message


def test_unknown_and_inactive_actors_are_refused(engine: Engine, factory: Factory) -> None:
    factory.user("gone", "operation", active=False)
    with transaction(engine) as session:
        with pytest.raises(UnknownActor):
            require_actor(session, "nobody", "settlements.run", "job")
        with pytest.raises(InactiveActor):
            require_actor(session, "gone", "settlements.run", "job")


def test_super_admin_passes_every_role_check(engine: Engine, factory: Factory) -> None:
    factory.user("root", "super_admin")
    with transaction(engine) as session:
        assert require_actor(session, "root", "periods.reopen", "job").is_superuser()


def test_maker_checker_refuses_self_approval_non_checkers_and_missing_notes(
    engine: Engine, factory: Factory
) -> None:
    maker = factory.user("alice", "finance")
    factory.user("rita", "risk")
    factory.user("fred", "finance")
    with transaction(engine) as session:
        rita, fred = load_actor(session, "rita"), load_actor(session, "fred")
    require_checker(rita, maker, "ok by me", "payout.settle")
    with pytest.raises(MakerCheckerViolation, match="needs a checker role"):
        require_checker(fred, maker, "ok", "payout.settle")
    with pytest.raises(MakerCheckerViolation, match="is the maker"):
        require_checker(rita, rita.id, "ok", "payout.settle")
    with pytest.raises(MakerCheckerViolation, match="needs a note"):
        require_checker(rita, maker, " ", "payout.settle")


def _insert_merchant(session: Session, code: str) -> None:
    session.execute(
        text(
            "INSERT INTO merchants (code, name, settlement_currency, destination_account, channel)"
            " VALUES (:c, :c, 'USD', 'ACC', 'bank')"
        ),
        {"c": code},
    )


def run_spec(
    engine: Engine,
    body: Callable[[JobContext], None],
    *,
    actor_username: str = "oscar",
    parameters: dict[str, Any] | None = None,
    dry_run: bool = False,
    idempotency_key: str | None = None,
) -> JobResult:
    """``run_job`` of the test job with the default settings."""
    return run_job(
        engine,
        SPEC,
        actor_username=actor_username,
        parameters=parameters or {},
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        settings=Settings(),
        body=body,
    )


def test_a_dry_run_executes_the_work_but_keeps_only_its_job_run_row(
    engine: Engine, factory: Factory
) -> None:
    factory.user("oscar", "operation")

    def body(ctx: JobContext) -> None:
        ctx.run_batch(lambda session: _insert_merchant(session, "DRY1"))
        ctx.run_batch(lambda session: _insert_merchant(session, "DRY2"))
        with transaction(engine) as probe:
            ctx.result.add(
                "merchants_seen_elsewhere",
                probe.execute(text("SELECT count(*) FROM merchants")).scalar_one(),
            )
        ctx.result.add("merchants_created", 2)

    result = run_spec(engine, body, parameters={"x": 1}, dry_run=True, idempotency_key="run-1")
    assert result.counts == {"merchants_seen_elsewhere": 0, "merchants_created": 2}
    assert factory.count("merchants") == 0
    assert (
        factory.count("job_runs", "dry_run AND outcome = 'succeeded' AND idempotency_key = 'run-1'")
        == 1
    )
    assert factory.audit_actions("job.") == []


def test_a_real_run_commits_each_batch_and_audits_the_run(engine: Engine, factory: Factory) -> None:
    factory.user("oscar", "operation")
    result = run_spec(engine, lambda ctx: ctx.run_batch(lambda s: _insert_merchant(s, "REAL")))
    assert factory.count("merchants") == 1
    assert (
        factory.count(
            "job_runs", "NOT dry_run AND outcome = 'succeeded' AND finished_at IS NOT NULL"
        )
        == 1
    )
    assert factory.audit_actions("job.") == ["job.automate_settlements.succeeded"]
    assert result.job_run_id is not None


def test_a_failing_batch_rolls_back_alone_and_the_run_is_recorded_failed(
    engine: Engine, factory: Factory
) -> None:
    factory.user("oscar", "operation")

    def body(ctx: JobContext) -> None:
        ctx.run_batch(lambda s: _insert_merchant(s, "KEPT"))
        ctx.run_batch(lambda s: (_insert_merchant(s, "LOST"), _insert_merchant(s, "KEPT")))

    with pytest.raises(Exception, match="duplicate key"):
        run_spec(engine, body)
    with engine.begin() as conn:
        assert list(conn.scalars(text("SELECT code FROM merchants"))) == ["KEPT"]
    assert factory.count("job_runs", "outcome = 'failed' AND error LIKE '%duplicate key%'") == 1


def test_a_refused_actor_leaves_no_trace_at_all(engine: Engine, factory: Factory) -> None:
    factory.user("sam", "sales")
    before = factory.table_checksums()
    with pytest.raises(ActorNotAllowed):
        run_spec(engine, lambda ctx: None, actor_username="sam")
    assert factory.table_checksums() == before
