"""The rooms' import rules (pyproject's [tool.importlinter], docs/architecture.md) and the one settings module."""

from __future__ import annotations

import ast
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = (
    "errors", "sources", "schemas", "privacy", "estimation", "warehouse", "reporting", "intake", "synthetic",
    "application", "pipelines", "portal", "cli",
)  # fmt: skip
SETTINGS = ROOT / "application" / "settings.py"


def test_every_import_rule_holds():
    assert lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True) == 0


def test_the_rules_cover_every_product_package():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    packages = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists() and p.name not in ("tests",)}
    assert set(config["root_packages"]) == set(PRODUCT) == packages


def _environment_uses(path: Path) -> list[str]:
    """`os.environ` and `os.getenv`/`putenv`/`unsetenv` in a module, as `file:line`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "environb", "getenv", "putenv", "unsetenv"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [f"{path.relative_to(ROOT)}:{node.lineno}" for a in node.names if a.name in ("environ", "getenv")]
    return found


def test_only_the_settings_module_reads_or_writes_the_environment():
    used = [hit for package in PRODUCT for path in (ROOT / package).rglob("*.py") for hit in _environment_uses(path)]
    assert used and all(hit.startswith("application/settings.py:") for hit in used), used
