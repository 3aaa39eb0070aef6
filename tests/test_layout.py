"""The package's import graph: no private module is used outside its package.

A private module (a name starting with ``_``) of ``sk_mnist.serve`` may be
imported by ``sk_mnist.serve`` and its subpackages only; others go through
the package's public face. Top-level private modules (``sk_mnist._files``)
belong to the whole package.
"""

import ast
from pathlib import Path

import sk_mnist

ROOT = Path(sk_mnist.__file__).parent


def _imports(path, package):
    """The absolute names ``path`` (in `package`) imports, names included."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(parts + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names)


def _private_owner(name):
    """The package owning the first private module in `name`, or None."""
    parts = name.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def private_imports_across_packages(root=ROOT):
    found = []
    for path in sorted(root.rglob("*.py")):
        module = ".".join(("sk_mnist", *path.relative_to(root).with_suffix("").parts))
        is_init = path.name == "__init__.py"
        package = (
            module.removesuffix(".__init__") if is_init else module.rpartition(".")[0]
        )
        for name in _imports(path, package):
            owner = _private_owner(name) if name.startswith("sk_mnist.") else None
            if owner and package != owner and not package.startswith(owner + "."):
                found.append(f"{module} imports {name}")
    return found


def test_no_private_module_is_used_outside_its_package():
    assert private_imports_across_packages() == []


def test_the_check_sees_a_private_import_across_packages(tmp_path):
    (tmp_path / "serve").mkdir()
    (tmp_path / "serve" / "_app.py").write_text("")
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "_main.py").write_text(
        "from ..serve._app import create_app\nfrom .._files import x\n"
    )
    assert private_imports_across_packages(tmp_path) == [
        "sk_mnist.cli._main imports sk_mnist.serve._app",
        "sk_mnist.cli._main imports sk_mnist.serve._app.create_app",
    ]
