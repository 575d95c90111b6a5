"""No module reaches into another module's private names (`_name`): a private helper used elsewhere is a
rule without a home. import-linter cannot say it, so this test walks the product's syntax trees: every
`from x import _name` and every `module._name` on a module of ours, except the few listed below."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["claims", "common", "config", "demo", "funding", "operators", "portal"]

# (importing module, imported module, name), each with why it may stay.
ALLOWED: set[tuple[str, str, str]] = set()  # none left since the workflow refactor landed


def module_name(path, root):
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(dotted, root):
    path = root.joinpath(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def absolute(node, current, is_package):
    if not node.level:
        return node.module or ""
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def private(name):
    return name.startswith("_") and not name.startswith("__")


def private_imports(path, root=ROOT):
    current = module_name(path, root)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {}  # local name → one of our modules
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = absolute(node, current, path.name == "__init__.py")
            if source.split(".")[0] not in PACKAGES:
                continue
            for alias in node.names:
                if private(alias.name):
                    found.append((current, source, alias.name))
                elif is_module(f"{source}.{alias.name}", root):
                    modules[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in PACKAGES and alias.asname:
                    modules[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in modules
            and modules[node.value.id] != current
        ):
            found.append((current, modules[node.value.id], node.attr))
    return found


def product_modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_no_module_imports_another_modules_private_names():
    found = {hit for path in product_modules() for hit in private_imports(path)}
    assert found - ALLOWED == set()


def test_every_allowed_private_import_still_exists():
    # An exception whose import is gone is removed from the list (or it would hide a new one).
    found = {hit for path in product_modules() for hit in private_imports(path)}
    assert ALLOWED - found == set()


def test_the_walk_recognises_both_forms(tmp_path):
    package = tmp_path / "claims"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "services.py").write_text("def _lock(): ...\n")
    probe = package / "probe.py"
    probe.write_text(
        "from claims.services import _lock\nfrom claims import services\nfrom . import services as s\n"
        "services._lock()\ns._lock()\nservices.public()\n"
    )
    assert sorted(private_imports(probe, tmp_path)) == [("claims.probe", "claims.services", "_lock")] * 3
