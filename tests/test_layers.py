"""The stack of areas, enforced: every import of `market.*` (module level or inside a function) points down.

A module may import its own layer and every layer below it, never one above. Areas on one rung do not import each
other either. The table is the one in docs/CONVENTIONS.md; a new module or area must find its rung here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "market"

# Bottom first: each rung holds units, each unit its modules or packages (a package covers its submodules).
# A module imports its own unit and the rungs below it, never its own rung's other units or a rung above.
STACK: list[dict[str, tuple[str, ...]]] = [
    {"kernel": ("market.db", "market.errors", "market.config", "market.bounded", "market.sanitize", "market.paging",
                "market.i18n", "market.extensions", "market.areas", "market.dates")},
    {"foundation": ("market.audit", "market.outbox", "market.states", "market.formkit", "market.clock",
                    "market.work")},
    {"reference": ("market.reference",)},
    {"accounts": ("market.accounts", "market.security")},
    {"api": ("market.api",), "notices": ("market.notices",)},
    {"policy": ("market.policy",)},
    {"ip": ("market.ip",)},
    {"needs": ("market.needs",)},
    {"valuations": ("market.valuations",)},
    {"loans": ("market.loans",)},
    {"exchange": ("market.exchange",)},
    {"stats": ("market.stats",)},
    {"main": ("market.main",), "staff": ("market.staff",), "apidocs": ("market.apidocs",)},
    {"app": ("market", "market.web", "market.models", "market.health", "market.bootstrap", "market.migrate",
             "market.cli", "market.cli_areas", "market.demo", "market.devtools", "market.serve")},
]

# Imports that still point up. This list only ever shrinks; the issue is done when it is empty.
KNOWN: set[tuple[str, str]] = set()


def place(module: str) -> tuple[int, str] | None:
    """(rung, unit) of a module: the unit whose entry covers it most closely (the longest match)."""
    best, length = None, -1
    for rung, units in enumerate(STACK):
        for unit, prefixes in units.items():
            for prefix in prefixes:
                if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                    best, length = (rung, unit), len(prefix)
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "market":
                for alias in node.names:
                    yield node.lineno, f"market.{alias.name}"
            elif node.module.startswith("market."):
                yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("market."):
                    yield node.lineno, alias.name


def upward_imports() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = module_name(path)
        src = place(source)
        assert src is not None, f"{source} has no rung in STACK"
        for lineno, target in imports_of(path):
            dst = place(target)
            assert dst is not None, f"{target} (imported by {source}) has no rung in STACK"
            if dst[1] == src[1] or dst[0] < src[0]:
                continue
            found.append((src[1], dst[1], f"{path.relative_to(ROOT)}:{lineno} imports {target}"))
    return found


def test_every_import_points_down():
    bad = [where for src, dst, where in upward_imports() if (src, dst) not in KNOWN]
    assert not bad, "imports that point up the stack (see docs/CONVENTIONS.md):\n" + "\n".join(bad)


def test_known_exceptions_are_still_real():
    """An exception that no longer happens is taken off the list, so the list only shrinks."""
    seen = {(src, dst) for src, dst, _ in upward_imports()}
    assert KNOWN <= seen, f"no longer needed, remove from KNOWN: {sorted(KNOWN - seen)}"


@pytest.mark.parametrize("module, expected", [
    ("market.loans.service", "loans"), ("market.db", "kernel"), ("market", "app"), ("market.api.fields", "api"),
    ("market.security", "accounts"), ("market.web", "app"),
])
def test_place(module, expected):
    assert place(module)[1] == expected
