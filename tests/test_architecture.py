"""DESIGN.md's import direction, checked on the source: the core stays free of platforms and libraries."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORT_SIDES = ("bot.adapters", "bot.storage", "bot.llm", "bot.web")


def imports(folder: str) -> dict[str, set[str]]:
    """Module file → the top-level names it imports (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def offenders(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(f"{module} imports {name}" for module, names in imports(folder).items() for name in names
                  if name.split(".")[0] in forbidden or name.startswith(forbidden))


def test_policies_and_personas_import_nothing_from_the_bot() -> None:
    assert offenders("policies", ("bot",)) == []
    assert offenders("persona", ("bot",)) == []


def test_the_core_never_imports_a_platform_or_a_network_or_database_library() -> None:
    libraries = ("discord", "telegram", "openai", "sqlmodel", "sqlalchemy", "httpx", "aiohttp", "starlette")
    assert offenders("bot/core", (*libraries, *PORT_SIDES)) == []


def test_adapters_storage_and_the_llm_client_never_import_each_other() -> None:
    for side in PORT_SIDES:
        others = tuple(s for s in PORT_SIDES if s != side)
        assert offenders(side.replace(".", "/"), others) == [], side


def test_only_the_command_line_imports_the_composition_root() -> None:
    importers = sorted(module for module, names in imports("bot").items() if "bot.app" in names)
    assert importers == ["bot/cli.py"]


def test_the_workers_machinery_sits_beside_the_core_and_the_adapters_never_reach_into_it() -> None:
    assert offenders("bot/workers", ("bot.adapters", "bot.llm", "bot.web", "bot.app")) == []
    assert offenders("bot/core", ("bot.workers",)) == []
    assert offenders("bot/adapters", ("bot.workers",)) == [], "adapters see only the core's Inbound port"
