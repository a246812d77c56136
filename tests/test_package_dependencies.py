"""Capabilities depend on each other one way: no package of ops_domain imports a package that
imports it back (also not inside a function), so each can be read without the other."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ops_domain"


def _room(module: str) -> str | None:
    """The capability a module belongs to: ``ops_domain.payouts.service`` -> ``payouts``."""
    parts = module.split(".")
    return parts[1] if parts[0] == "ops_domain" and len(parts) > 1 else None


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def package_arrows() -> set[tuple[str, str]]:
    arrows = set()
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        source = _room(module)
        for imported in _imports(path):
            target = _room(imported)
            if source and target and target != source:
                arrows.add((source, target))
    return arrows


def test_no_package_imports_a_package_that_imports_it_back() -> None:
    arrows = package_arrows()
    both_ways = {(min(pair), max(pair)) for pair in arrows if pair[::-1] in arrows}
    assert both_ways == set()


def test_payouts_read_settlements_and_settlements_never_read_payouts() -> None:
    arrows = package_arrows()
    assert ("payouts", "settlements") in arrows
    assert ("settlements", "payouts") not in arrows
