"""The house rules, checked on the source: storage is the only place with SQL,
nothing imports back up (no import cycle), and the public API is pinned."""

from __future__ import annotations

import ast
from pathlib import Path

import monitor

PKG = Path(monitor.__file__).resolve().parent
SQL_BUILDERS = {"select", "update", "insert", "delete", "text"}   # from sqlalchemy
SQL_CALLS = {"execute", "scalar", "scalars", "exec_driver_sql"}  # a session's or connection's


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(name: str, path: Path) -> set[str]:
    """The monitor modules ``name`` imports at run time (anywhere in it, not
    under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("monitor"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("monitor"):
                for alias in node.names:   # `from . import leases` imports a module
                    sub = f"{mod}.{alias.name}"
                    found.add(sub if sub in MODULES else mod)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(name)
    return {m for m in found if m in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            strong(v)
    return out


def _package_edges(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Without the edges from a package's __init__ to its own modules (it
    exports them): those are not a module calling back up."""
    return {m: {d for d in deps if not (m != "monitor" and d.startswith(m + "."))}
            for m, deps in graph.items()}


def test_no_import_cycle_in_the_package() -> None:
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    # the top-level package exports the API: importing it is not a dependency
    graph = {m: deps - {"monitor"} for m, deps in _package_edges(graph).items()}
    graph.pop("monitor", None)
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _sql_outside_db(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            found += [f"imports {a.name} from {node.module}" for a in node.names
                      if a.name in SQL_BUILDERS]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in SQL_CALLS:
            found.append(f"calls .{node.func.attr}() at line {node.lineno}")
    return found


def test_sql_lives_only_in_the_storage_package() -> None:
    offenders = {name: found for name, path in MODULES.items()
                 if not name.startswith("monitor.db") and (found := _sql_outside_db(path))}
    assert offenders == {}


def test_the_sql_check_sees_sql(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text("from sqlalchemy import select\n\ndef f(s):\n    return s.scalars(select(1))\n")
    assert _sql_outside_db(sample) == ["imports select from sqlalchemy", "calls .scalars() at line 4"]


def test_the_public_api_is_pinned() -> None:
    assert monitor.__all__ == [
        "ConfigError", "DatabaseError", "DeliveryError", "DeliveryReport", "DigestResult",
        "ErrorCode", "ExtractError", "FeedParseError", "FeedRef", "FetchError", "Monitor",
        "MonitorError", "PollRun", "PollSummary", "PruneReport", "Ready", "Settings", "UsageError",
        "load_config", "settings_from_dict",
    ]
    for name in monitor.__all__:
        assert getattr(monitor, name) is not None, name
    # the facade's actions, as every front end calls them
    for action in ("prepare", "poll", "deliver", "digest", "mentions", "articles", "stories",
                   "search", "preview_topic", "feeds", "enable_feed", "reset_feed", "release_feeds",
                   "merge_stories", "split_article", "prune"):
        assert callable(getattr(monitor.Monitor, action)), action
