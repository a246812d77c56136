"""``seed_demo``: load the deterministic demo data set (see ``ops_domain.demo``)."""

from __future__ import annotations

import argparse
from datetime import timedelta

from ops_domain.cli.runtime import EXIT_OK, Runtime, add_json_flag, date_arg, emit, whole_number_arg
from ops_domain.clock import utc_now
from ops_domain.demo.plan import SCALES
from ops_domain.demo.seed import seed_demo


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "seed_demo",
        help="load the deterministic demo data set into an empty business database",
        description="Seed users, merchants, events, settlements, payouts, disputes, cases, "
        "alerts, reconciliation breaks, journals and periods relative to a business date. "
        "Refuses (exit 2, nothing changed) when the database holds business rows, unless "
        "--reset is given; --reset works only on the embedded database or with "
        "OPS_ALLOW_RESET=1.",
    )
    parser.add_argument(
        "--scale", choices=sorted(SCALES), default="small", help="how much history (default small)"
    )
    parser.add_argument(
        "--seed", type=whole_number_arg, default=1, help="pseudo-random seed (default 1)"
    )
    parser.add_argument(
        "--business-date",
        type=date_arg("--business-date"),
        default=None,
        help="YYYY-MM-DD the data is relative to (default: yesterday, UTC)",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="wipe every business table (audit log included) before seeding",
    )
    add_json_flag(parser)
    parser.set_defaults(handler=run_seed_demo, owner=True)


def run_seed_demo(args: argparse.Namespace, runtime: Runtime) -> int:
    business_date = args.business_date or (utc_now().date() - timedelta(days=1))
    summary = seed_demo(
        runtime.engine,
        runtime.settings,
        scale=args.scale,
        seed=args.seed,
        business_date=business_date,
        reset=args.reset,
    )
    emit(summary.to_dict(), as_json=args.json, text=summary.lines())
    return EXIT_OK
