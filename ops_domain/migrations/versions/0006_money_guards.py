"""Money guards against our own login: the database repeats the services' rules on settlements,
payouts and every status machine, so the application role cannot bypass them with raw SQL.

- Every status column moves only along its transition table (``ops_domain.transitions``
  machines, spelled here as ``from>to`` trigger arguments; a test keeps them equal).
- Settlements: the checker is never the maker (check constraint, as for refunds); a draft is
  posted only by an active checker-role user other than the maker, with a note; a policy
  post happens only when the settlement is created; ``paid`` needs its settled payout.
- Payouts: destination, channel and maker never change (a new destination is a new payout);
  created only ``pending`` for a posted settlement, with its net, currency, merchant and the
  merchant's destination, outside a freeze; every decision by an active user holding the
  decision's permission who is not the maker, with a note and its stamp; the sender is the
  deciding checker of ``sent`` and never settles or fails it; the first approval (ADR 0008)
  is given once per attempt while pending; a resubmission counts one more attempt and
  clears approval and sender, nothing else touches them.

The shape rules on INSERT and the person rules do not bind the schema owner (or a superuser):
it loads history and fixtures, and could drop the triggers anyway. ADR 0009 has the design.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 04:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

# table -> allowed moves of its status column (mirrors the StateMachine tables)
STATUS_MOVES = {
    "settlements": ("draft>posted", "posted>paid"),
    "settlement_exceptions": (
        "open>in_review",
        "open>resolved",
        "in_review>resolved",
        "in_review>open",
    ),
    "payouts": ("pending>sent", "sent>settled", "sent>failed", "failed>pending"),
    "refund_requests": (
        "pending>approved",
        "pending>rejected",
        "approved>executed",
        "approved>failed",
    ),
    "chargebacks": (
        "open>represented",
        "open>lost",
        "represented>won",
        "represented>pre_arbitration",
        "pre_arbitration>won",
        "pre_arbitration>lost",
        "won>closed",
        "lost>closed",
    ),
    "cases": (
        "open>in_progress",
        "open>escalated",
        "in_progress>escalated",
        "in_progress>resolved",
        "escalated>in_progress",
        "escalated>resolved",
        "resolved>closed",
    ),
    "reconciliation_breaks": ("open>in_review", "in_review>resolved", "in_review>open"),
    "reconciliation_break_resolutions": ("pending>approved", "pending>rejected"),
    "journal_entries": ("draft>posted", "draft>void"),
    "journal_approvals": ("pending>approved", "pending>rejected"),
    "accounting_periods": ("open>closed", "closed>open"),
    "readiness_waivers": ("pending>approved", "pending>rejected"),
    "releases": (
        "candidate>released",
        "released>rollback_recommended",
        "released>rolled_back",
        "rollback_recommended>rolled_back",
        "rollback_recommended>released",
    ),
    "alerts": ("open>in_review", "open>closed", "in_review>open", "in_review>closed"),
}

TRUSTED_WRITER = """
    CREATE FUNCTION ops_trusted_writer(relation regclass) RETURNS boolean
        LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
        SELECT pg_has_role(current_user, c.relowner, 'MEMBER')
          FROM pg_class c WHERE c.oid = relation
    $$
"""

ILLEGAL_TRANSITION = """
    CREATE FUNCTION refuse_illegal_transition() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT (OLD.status || '>' || NEW.status) = ANY (TG_ARGV) THEN
            RAISE EXCEPTION '% row %: illegal transition % -> %',
                TG_TABLE_NAME, OLD.id, OLD.status, NEW.status
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$
"""

# An active user holding ``permission`` (super_admin holds every one), or an error naming why.
USER_MAY = """
    CREATE FUNCTION ops_user_may(user_id bigint, permission text) RETURNS boolean
        LANGUAGE sql STABLE AS $$
        SELECT EXISTS (
            SELECT 1 FROM public.users u
              JOIN public.user_roles ur ON ur.user_id = u.id
              JOIN public.roles r ON r.id = ur.role_id
              LEFT JOIN public.role_permissions rp
                     ON rp.role_id = r.id AND rp.permission = ops_user_may.permission
             WHERE u.id = ops_user_may.user_id AND u.is_active
               AND (r.name = 'super_admin' OR rp.id IS NOT NULL))
    $$
"""

SETTLEMENTS_GUARD = """
    CREATE FUNCTION settlements_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF ops_trusted_writer(TG_RELID) THEN
            RETURN NEW;
        END IF;
        IF TG_OP = 'INSERT' THEN
            IF NOT ((NEW.status = 'draft' AND NEW.posted_at IS NULL)
                    OR (NEW.status = 'posted' AND NEW.approval_source = 'policy:auto_post'
                        AND NEW.posted_at IS NOT NULL))
               OR NEW.approver_id IS NOT NULL OR NEW.paid_at IS NOT NULL THEN
                RAISE EXCEPTION 'settlements are created draft, or posted by policy'
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END IF;
        IF NEW.maker_id IS DISTINCT FROM OLD.maker_id
           OR (OLD.status <> 'draft'
               AND (NEW.approver_id, NEW.approval_source, NEW.approval_note, NEW.posted_at)
                   IS DISTINCT FROM
                   (OLD.approver_id, OLD.approval_source, OLD.approval_note, OLD.posted_at))
           OR (OLD.status = 'paid' AND NEW.paid_at IS DISTINCT FROM OLD.paid_at) THEN
            RAISE EXCEPTION 'settlement %: maker and decisions are immutable', OLD.settlement_no
                USING ERRCODE = 'check_violation';
        END IF;
        IF OLD.status = 'draft' AND NEW.status = 'posted' THEN
            IF NEW.approval_source IS DISTINCT FROM 'checker'
               OR NEW.approver_id IS NULL OR NEW.posted_at IS NULL
               OR coalesce(btrim(NEW.approval_note), '') = ''
               OR NOT ops_user_may(NEW.approver_id, 'settlements.approve')
               OR NOT EXISTS (SELECT 1 FROM public.users u
                                JOIN public.user_roles ur ON ur.user_id = u.id
                                JOIN public.roles r ON r.id = ur.role_id
                               WHERE u.id = NEW.approver_id
                                 AND r.name IN ('admin', 'super_admin', 'risk')) THEN
                RAISE EXCEPTION 'settlement %: posting needs a checker (not the maker), a note',
                    OLD.settlement_no USING ERRCODE = 'check_violation';
            END IF;
        END IF;
        IF NEW.status = 'paid' AND OLD.status <> 'paid' AND (NEW.paid_at IS NULL
           OR NOT EXISTS (SELECT 1 FROM public.payouts p
                           WHERE p.settlement_id = NEW.id AND p.status = 'settled')) THEN
            RAISE EXCEPTION 'settlement %: paid only once its payout settled', OLD.settlement_no
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$
"""

FROZEN = """
    EXISTS (SELECT 1 FROM public.payout_freezes f
             WHERE f.lifted_at IS NULL
               AND (f.scope = 'global' OR f.merchant_id = NEW.merchant_id))
"""

PAYOUTS_GUARD = f"""
    CREATE FUNCTION payouts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF ops_trusted_writer(TG_RELID) THEN
            RETURN NEW;
        END IF;
        IF TG_OP = 'INSERT' THEN
            IF NEW.status <> 'pending' OR NEW.attempt <> 1 OR NEW.last_checker_id IS NOT NULL
               OR NOT EXISTS (
                   SELECT 1 FROM public.settlements s
                     JOIN public.merchants m ON m.id = s.merchant_id
                    WHERE s.id = NEW.settlement_id AND s.status = 'posted'
                      AND s.net_amount = NEW.amount AND s.currency = NEW.currency
                      AND s.merchant_id = NEW.merchant_id
                      AND m.destination_account = NEW.destination_account
                      AND m.channel = NEW.channel) THEN
                RAISE EXCEPTION 'a new payout is pending, pays a posted net, to the %',
                    'merchant''s destination' USING ERRCODE = 'check_violation';
            END IF;
            IF {FROZEN} THEN
                RAISE EXCEPTION 'payouts of merchant % are frozen', NEW.merchant_id
                    USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END IF;
        IF NEW.attempt <> OLD.attempt + (CASE WHEN OLD.status = 'failed'
                                              AND NEW.status = 'pending' THEN 1 ELSE 0 END) THEN
            RAISE EXCEPTION 'payout %: the attempt counter moves only by a resubmission',
                OLD.payout_reference USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.status = OLD.status THEN
            IF (NEW.last_checker_id, NEW.last_note, NEW.sent_at, NEW.settled_at, NEW.failed_at,
                NEW.failure_reason, NEW.sent_by)
               IS DISTINCT FROM
               (OLD.last_checker_id, OLD.last_note, OLD.sent_at, OLD.settled_at, OLD.failed_at,
                OLD.failure_reason, OLD.sent_by) THEN
                RAISE EXCEPTION 'payout %: decisions change only with the status',
                    OLD.payout_reference USING ERRCODE = 'check_violation';
            END IF;
            -- the first of two checkers: once per attempt, while pending
            IF (NEW.approved_by, NEW.approved_at)
               IS DISTINCT FROM (OLD.approved_by, OLD.approved_at)
               AND (OLD.status <> 'pending' OR OLD.approved_by IS NOT NULL
                    OR NEW.approved_at IS NULL
                    OR NOT ops_user_may(NEW.approved_by, 'payouts.decide')) THEN
                RAISE EXCEPTION 'payout %: approved once, while pending, by a checker',
                    OLD.payout_reference USING ERRCODE = 'check_violation';
            END IF;
            RETURN NEW;
        END IF;
        IF (NEW.status = 'pending'
            AND num_nonnulls(NEW.approved_by, NEW.approved_at, NEW.sent_by) > 0)
           OR (NEW.status = 'sent'
               AND (NEW.sent_by IS DISTINCT FROM NEW.last_checker_id
                    OR (NEW.approved_by, NEW.approved_at)
                       IS DISTINCT FROM (OLD.approved_by, OLD.approved_at)))
           OR (NEW.status IN ('settled', 'failed')
               AND (NEW.last_checker_id = OLD.sent_by
                    OR (NEW.sent_by, NEW.approved_by, NEW.approved_at)
                       IS DISTINCT FROM (OLD.sent_by, OLD.approved_by, OLD.approved_at))) THEN
            RAISE EXCEPTION 'payout %: % breaks the sender and approver rules',
                OLD.payout_reference, NEW.status USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.last_checker_id IS NULL OR NEW.last_checker_id = NEW.maker_id
           OR coalesce(btrim(NEW.last_note), '') = ''
           OR NOT ops_user_may(NEW.last_checker_id,
                               (CASE NEW.status WHEN 'pending' THEN 'payouts.resubmit'
                                                ELSE 'payouts.decide' END)) THEN
            RAISE EXCEPTION 'payout %: % needs a permitted user (not its maker), a note',
                OLD.payout_reference, NEW.status
                USING ERRCODE = 'check_violation';
        END IF;
        IF (NEW.status = 'sent' AND NEW.sent_at IS NULL)
           OR (NEW.status = 'settled' AND NEW.settled_at IS NULL)
           OR (NEW.status = 'failed'
               AND (NEW.failed_at IS NULL OR coalesce(btrim(NEW.failure_reason), '') = '')) THEN
            RAISE EXCEPTION 'payout %: % needs its time stamp (and a failure reason)',
                OLD.payout_reference, NEW.status USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.status IN ('sent', 'settled') AND {FROZEN} THEN
            RAISE EXCEPTION 'payouts of merchant % are frozen', NEW.merchant_id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END $$
"""


def upgrade() -> None:
    op.execute(TRUSTED_WRITER)
    op.execute(ILLEGAL_TRANSITION)
    for table, moves in STATUS_MOVES.items():
        arguments = ", ".join(f"'{move}'" for move in moves)
        op.execute(
            f"CREATE TRIGGER {table}_status_moves BEFORE UPDATE OF status ON {table}"
            " FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)"
            f" EXECUTE FUNCTION refuse_illegal_transition({arguments})"
        )
    op.create_check_constraint(
        "ck_settlements_checker",
        "settlements",
        "approver_id IS NULL OR approver_id <> maker_id",
    )
    op.create_check_constraint(
        "ck_payouts_checker", "payouts", "last_checker_id IS NULL OR last_checker_id <> maker_id"
    )
    op.execute(USER_MAY)
    op.execute(SETTLEMENTS_GUARD)
    op.execute(
        "CREATE TRIGGER settlements_guard BEFORE INSERT OR UPDATE ON settlements"
        " FOR EACH ROW EXECUTE FUNCTION settlements_guard()"
    )
    op.execute(PAYOUTS_GUARD)
    op.execute(
        "CREATE TRIGGER payouts_guard BEFORE INSERT OR UPDATE ON payouts"
        " FOR EACH ROW EXECUTE FUNCTION payouts_guard()"
    )
    op.execute(
        """
        CREATE TRIGGER payouts_destination_immutable
            BEFORE UPDATE OF destination_account, channel, maker_id ON payouts FOR EACH ROW
            WHEN ((OLD.destination_account, OLD.channel, OLD.maker_id)
                  IS DISTINCT FROM (NEW.destination_account, NEW.channel, NEW.maker_id))
            EXECUTE FUNCTION refuse_immutable_change()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER payouts_destination_immutable ON payouts")
    op.execute("DROP TRIGGER payouts_guard ON payouts")
    op.execute("DROP FUNCTION payouts_guard()")
    op.execute("DROP TRIGGER settlements_guard ON settlements")
    op.execute("DROP FUNCTION settlements_guard()")
    op.execute("DROP FUNCTION ops_user_may(bigint, text)")
    op.drop_constraint("ck_payouts_checker", "payouts")
    op.drop_constraint("ck_settlements_checker", "settlements")
    for table in STATUS_MOVES:
        op.execute(f"DROP TRIGGER {table}_status_moves ON {table}")
    op.execute("DROP FUNCTION refuse_illegal_transition()")
    op.execute("DROP FUNCTION ops_trusted_writer(regclass)")
