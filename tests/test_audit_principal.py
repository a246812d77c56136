"""Every audit row names its channel and authenticated principal, written by the database."""

from __future__ import annotations

import os
import pwd
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from ops_domain.audit.chain import link_hash, seal_audit_log, verify_chain
from ops_domain.audit.log import record_audit
from ops_domain.config import Settings
from ops_domain.db import transaction
from ops_domain.disputes.escalation import escalate_refund_disputes
from ops_domain.principal import AIRFLOW, CLI, SCHEDULER, Principal, acting_as
from tests.support.factories import Factory

RITA_RUN = Principal(AIRFLOW, "rita", "manual__2026-12-06T04:00:00+00:00")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
# The canonical text the chain hashed before migration 0004 added the principal columns.
PRE_PRINCIPAL_CANONICAL = text(
    """
    SELECT jsonb_build_array(a.id, a.action, a.actor_id, a.target_type, a.target_id, a.before,
                             a.after, a.details,
                             to_char(a.created_at AT TIME ZONE 'UTC',
                                     'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
      FROM audit_log a ORDER BY a.id
    """
)


def stamps(engine: Engine, where: str = "true") -> list[tuple]:
    with engine.begin() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT action, channel, principal, principal_ref, database_user"
                    f" FROM audit_log WHERE {where} ORDER BY id"
                )
            )
        ]


def database_login(engine: Engine) -> str:
    with engine.begin() as conn:
        return conn.execute(text("SELECT session_user")).scalar_one()


def write(engine: Engine, action: str) -> None:
    with transaction(engine) as session:
        record_audit(session, actor_id=None, action=action, target_type="test", target_id=1)


def test_a_row_written_without_a_principal_names_the_database_login(engine: Engine) -> None:
    login = database_login(engine)
    write(engine, "test.anonymous")
    assert stamps(engine) == [("test.anonymous", "database", login, None, login)]


def test_a_row_names_the_principal_of_the_transaction_that_wrote_it(engine: Engine) -> None:
    login = database_login(engine)
    with acting_as(RITA_RUN):
        write(engine, "test.as_rita")
    write(engine, "test.after")  # the pooled connection forgets rita with her transaction
    assert stamps(engine) == [
        ("test.as_rita", AIRFLOW, "rita", RITA_RUN.reference, login),
        ("test.after", "database", login, None, login),
    ]


def test_every_transaction_of_one_connection_is_stamped_also_after_a_rollback(
    engine: Engine,
) -> None:
    insert = text(
        "INSERT INTO audit_log (action, target_type, target_id) VALUES (:action, 'test', '1')"
    )
    with acting_as(Principal(CLI, "olga", "host-1")), engine.connect() as conn:
        conn.execute(insert, {"action": "test.rolled_back"})
        conn.rollback()
        conn.execute(insert, {"action": "test.first"})
        conn.commit()
        conn.execute(insert, {"action": "test.second"})
        conn.commit()
    assert [row[:4] for row in stamps(engine)] == [
        ("test.first", CLI, "olga", "host-1"),
        ("test.second", CLI, "olga", "host-1"),
    ]


def test_set_based_insert_select_writers_are_stamped_row_by_row(engine: Engine) -> None:
    with acting_as(RITA_RUN), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (action, target_type, target_id)"
                " SELECT 'test.bulk', 'test', n::text FROM generate_series(1, 3) AS n"
            )
        )
    assert {row[1:4] for row in stamps(engine)} == {(AIRFLOW, "rita", RITA_RUN.reference)}
    assert len(stamps(engine)) == 3


def test_a_service_writing_its_audit_rows_in_sql_records_the_scheduler_run(
    engine: Engine, settings: Settings, factory: Factory
) -> None:
    maker = factory.user("cs", "customer_service")
    factory.user("svc_airflow", "operation")
    event = factory.event(factory.merchant("SHOP"), "500.00")
    factory.refund(maker, event, "40.00", sla_due_at=NOW - timedelta(hours=1))
    run = Principal(SCHEDULER, "svc_airflow", "scheduled__2026-11-23T09:00:00+00:00")
    with acting_as(run):
        escalate_refund_disputes(engine, settings, actor_username="svc_airflow", now=NOW)
    escalated = stamps(engine, "action = 'refund.escalate'")
    assert [row[1:4] for row in escalated] == [(SCHEDULER, "svc_airflow", run.reference)]
    job_rows = stamps(engine, "action LIKE 'job.%'")
    assert job_rows
    assert {row[1:4] for row in job_rows} == {(SCHEDULER, "svc_airflow", run.reference)}


def test_a_row_naming_no_principal_is_stamped_by_the_columns_defaults_alone(
    engine: Engine,
) -> None:
    """The trigger runs only for a row that names other values (migration 0013): a plain
    writer's row is stamped without it."""
    login = database_login(engine)
    with acting_as(RITA_RUN), engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_stamp_principal"))
        conn.execute(
            text(
                "INSERT INTO audit_log (action, target_type, target_id) VALUES ('test.plain', 'test', '1')"
            )
        )
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_stamp_principal"))
    assert stamps(engine) == [("test.plain", AIRFLOW, "rita", RITA_RUN.reference, login)]


def test_a_writer_naming_null_or_another_principal_gets_the_stamp(engine: Engine) -> None:
    login = database_login(engine)
    with acting_as(RITA_RUN), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (action, target_type, target_id, channel, principal,"
                " principal_ref, database_user) VALUES"
                " ('test.nulls', 'test', '1', NULL, NULL, NULL, NULL),"
                " ('test.ref', 'test', '2', 'airflow', 'rita', 'another run', :login)"
            ),
            {"login": login},
        )
    assert stamps(engine) == [
        ("test.nulls", AIRFLOW, "rita", RITA_RUN.reference, login),
        ("test.ref", AIRFLOW, "rita", RITA_RUN.reference, login),
    ]


def test_a_writer_cannot_name_a_principal_itself(engine: Engine) -> None:
    login = database_login(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_log (action, target_type, target_id, channel, principal,"
                " principal_ref, database_user)"
                " VALUES ('test.forged', 'test', '1', 'airflow', 'rita', 'run', 'someone')"
            )
        )
    assert stamps(engine) == [("test.forged", "database", login, None, login)]


def test_the_cli_records_the_operating_system_user_and_host_beside_the_actor(
    engine: Engine, factory: Factory, cli: Callable[..., tuple[int, str, str]]
) -> None:
    factory.user("adam", "admin")
    code, _, err = cli(
        "users", "add", "--username", "olga", "--roles", "operation", "--actor-username", "adam"
    )
    assert code == 0, err
    with engine.begin() as conn:
        row = conn.execute(
            text(
                "SELECT u.username, a.channel, a.principal, a.principal_ref FROM audit_log a"
                " JOIN users u ON u.id = a.actor_id WHERE a.target_type = 'user'"
                " AND a.actor_id IS NOT NULL"
            )
        ).one()
    os_user = pwd.getpwuid(os.getuid()).pw_name
    assert tuple(row) == ("adam", CLI, os_user, socket.gethostname())


def test_rows_sealed_before_the_principal_columns_existed_still_verify(engine: Engine) -> None:
    with engine.begin() as conn:  # rows as they were written before migration 0004
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_stamp_principal"))
        conn.execute(
            text(
                "INSERT INTO audit_log (action, target_type, target_id, channel, principal,"
                " principal_ref, database_user)"
                " SELECT 'test.old', 'test', n::text, NULL, NULL, NULL, NULL"
                " FROM generate_series(1, 2) AS n"
            )
        )
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_stamp_principal"))
    seal_audit_log(engine)
    with engine.begin() as conn:
        old_texts = conn.execute(PRE_PRINCIPAL_CANONICAL).scalars().all()
        stored = conn.execute(text("SELECT chain_hash FROM audit_chain ORDER BY audit_id")).all()
    previous, expected = "0" * 64, []
    for canonical in old_texts:
        previous = link_hash(previous, canonical)
        expected.append(previous)
    assert [row.chain_hash for row in stored] == expected

    with acting_as(RITA_RUN):
        write(engine, "test.new")
    seal_audit_log(engine)
    assert verify_chain(engine).intact


def test_editing_a_rows_principal_after_sealing_breaks_the_chain(engine: Engine) -> None:
    with acting_as(RITA_RUN):
        write(engine, "test.sealed")
    seal_audit_log(engine)
    with engine.begin() as conn:  # only the owner, lifting the append-only guard, can edit
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text("UPDATE audit_log SET principal = 'oscar'"))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
    report = verify_chain(engine)
    assert not report.intact
    assert "edited" in (report.problem or "")


def test_the_cli_refuses_to_act_as_a_service_account(
    engine: Engine, cli: Callable[..., tuple[int, str, str]]
) -> None:
    from ops_domain.rbac.users import add_user

    add_user(engine, "svc_airflow", ["operation"], service_account=True)

    code, _, err = cli("escalate_refund_disputes", "--actor-username", "svc_airflow", "--dry-run")

    assert code == 2
    assert "'svc_airflow' is a service account: only scheduled runs act as it, not cli" in err
