"""The layers README "How it works" names: each gateway package imports only those below it.

A package that reaches up (the store importing a feature, config importing broadcast) is how
a layout decays into one where nothing can be found or tested alone; this keeps it from
coming back unnoticed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# top to bottom, as README.md lists them
ORDER = [
    "cli", "web", "dev", "daemon", "cap", "desk", "access", "ops", "sims", "outages", "broadcast", "outbound",
    "inbound", "hooks", "crm",
    "events", "lockfile", "conversation", "store", "config", "runtime", "exceptions", "logs",
]  # fmt: skip


def _imports(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return out


def test_every_gateway_package_imports_only_the_layers_below_it() -> None:
    rank = {name: n for n, name in enumerate(ORDER)}
    upward = []
    for path in sorted((ROOT / "gateway").rglob("*.py")):
        parts = path.relative_to(ROOT / "gateway").with_suffix("").parts
        if parts[0] == "__init__":
            continue
        assert parts[0] in rank, f"{path}: a new package or module -- place it in ORDER and in README.md"
        for module in _imports(path):
            layer = module.split(".")[1] if module.startswith("gateway.") else None
            if layer and layer != parts[0] and rank[layer] < rank[parts[0]]:
                upward.append(f"{path.relative_to(ROOT)} imports {module}")
    assert upward == []


def test_readme_names_every_package_in_that_order() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## How it works") : readme.index("## Status")]
    packages = [p for p in ORDER if (ROOT / "gateway" / p).is_dir()]
    positions = [section.index(f"`gateway/{p}/`") for p in packages]
    assert positions == sorted(positions)


def test_no_module_is_over_400_lines() -> None:
    """Modules small and named for what they do (STYLE.md): a module past 400 lines is two."""
    long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for top in ("gateway", "sim_bank")
        for path in sorted((ROOT / top).rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > 400
    ]
    assert long == []
