"""The documentation stays in step with the code.

The Sphinx build itself (``sphinx-build -W`` in .ci/run) runs the examples and
fails on any warning; these tests check, without Sphinx, what a build could
not notice: that the generated command-line and API references cover every
subcommand, option and public name, that the hand-written pages name every
estimator parameter, that every public function and class has a runnable
Examples section, and that the code shown in the pages and the README still
matches the API.
"""

import argparse
import ast
import importlib
import importlib.util
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def ext():
    spec = importlib.util.spec_from_file_location(
        "sk_mnist_sphinx", DOCS / "_ext" / "sk_mnist_sphinx.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sections(text):
    """Title -> body of each section of the generated CLI reference."""
    parts = re.split(r"^(\S[^\n]*)\n-+\n", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


# ------------------------------------------------------------ the CLI page
def test_cli_reference_has_every_subcommand_and_option(ext):
    from sk_mnist.cli import build_parser

    sections = _sections(ext.cli_reference_rst())
    subcommands = []
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            subcommands = list(action.choices)
    assert {"train", "evaluate", "predict", "search"} <= set(subcommands)
    for words, parser, _ in ext.iter_commands(build_parser()):
        title = " ".join(words)
        assert title in sections, f"no section for {title!r}"
        for option in ext.option_strings(parser):
            # As an option of this command, in the usage or the option list.
            assert re.search(rf"(^|[\s\[,]){re.escape(option)}\b", sections[title]), (
                f"{title}: {option} missing from the generated reference"
            )
    assert set(subcommands) == {
        " ".join(words[1:]) for words, _, _ in ext.iter_commands(build_parser())
    } - {""}


def test_cli_reference_is_generated_by_the_cli_page():
    text = (DOCS / "cli.rst").read_text()
    assert re.search(r"^\.\. sk-mnist-cli::\s*$", text, flags=re.MULTILINE)


def test_cli_reference_shows_a_new_option_without_edits(ext):
    parser = argparse.ArgumentParser(prog="tool")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run it")
    run.add_argument("--brand-new-option", metavar="X", help="appears by itself")
    text = ext.cli_reference_rst(parser)
    sections = _sections(text)
    assert set(sections) == {"tool", "tool run"}
    assert "--brand-new-option X" in sections["tool run"]
    assert "*run it.*" in sections["tool run"]


# ------------------------------------------------------------ the API page
def _public_modules():
    """Every public module and package of sk_mnist that has an ``__all__``."""
    import sk_mnist

    names = []
    for info in sorted(pkgutil.iter_modules(sk_mnist.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"sk_mnist.{info.name}")
        if hasattr(module, "__all__"):
            names.append(module.__name__)
    return names


def _public_objects():
    """(qualified name, object) of every public function and class."""
    import sk_mnist

    seen = {}
    for name in sk_mnist.__all__:
        obj = getattr(sk_mnist, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            seen[id(obj)] = (f"sk_mnist.{name}", obj)
    for modname in _public_modules():
        module = importlib.import_module(modname)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                seen.setdefault(id(obj), (f"{modname}.{name}", obj))
    return sorted(seen.values(), key=lambda item: item[0])


def test_api_reference_lists_every_public_name(ext):
    import sk_mnist

    text = ext.api_reference_rst()
    listed = set(re.findall(r"^   ~(\S+)$", text, flags=re.MULTILINE))
    for modname in _public_modules():
        if modname == "sk_mnist.cli":
            continue  # documented on the CLI page
        module = importlib.import_module(modname)
        for name in module.__all__:
            assert (
                name in listed
                or f"{modname.removeprefix('sk_mnist.')}.{name}" in listed
            ), f"{modname}.{name} missing from the API reference"
    for name in set(sk_mnist.__all__) - {"__version__"}:
        assert any(entry.split(".")[-1] == name for entry in listed), name


def test_api_page_walks_packages_and_skips_private_modules(ext):
    # Packages (datasets, plotting, ...) are walked like modules; their
    # private modules and the top-level private ones are not; cli has a page
    # of its own.
    import sk_mnist

    walked = [module.__name__ for module in ext._modules()]
    packages = [
        f"sk_mnist.{info.name}"
        for info in pkgutil.iter_modules(sk_mnist.__path__)
        if info.ispkg and not info.name.startswith("_") and info.name != "cli"
    ]
    assert {"sk_mnist.datasets", "sk_mnist.plotting"} <= set(packages)
    assert set(packages) <= set(walked)
    assert "sk_mnist.cli" not in walked
    assert not any(part.startswith("_") for name in walked for part in name.split("."))
    text = ext.api_reference_rst()
    assert ".. automodule:: sk_mnist.cli" not in text
    assert "~datasets.fetch_dataset" in text or "~fetch_dataset" in text
    # The order of the page: the new modules where MODULE_ORDER puts them.
    order = [name.removeprefix("sk_mnist.") for name in walked]
    known = [name for name in ext.MODULE_ORDER if name in order]
    assert order[: len(known)] == known


def test_cli_package_has_main_and_build_parser_only():
    import sk_mnist.cli

    assert sk_mnist.cli.__all__ == ["build_parser", "main"]


@pytest.mark.parametrize(
    "qualname, obj", _public_objects(), ids=[q for q, _ in _public_objects()]
)
def test_public_docstring_has_runnable_examples(qualname, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{qualname} has no docstring"
    match = re.search(
        r"^Examples\n-{8}\n(.*?)(?=^\S[^\n]*\n-{3,}\n|\Z)", doc, re.M | re.S
    )
    assert match, f"{qualname}: no numpydoc Examples section"
    examples = match.group(1)
    assert ">>> " in examples, f"{qualname}: Examples has no doctest"
    # At least one line that pytest --doctest-modules really runs.
    runnable = [
        line
        for line in examples.splitlines()
        if line.lstrip().startswith(">>> ") and "doctest: +SKIP" not in line
    ]
    assert runnable, f"{qualname}: every example line is skipped"


# ------------------------------------------------------- hand-written pages
def test_model_page_describes_every_estimator_parameter():
    from sk_mnist import DenseMLPClassifier

    text = (DOCS / "model.rst").read_text()
    for name in inspect.signature(DenseMLPClassifier).parameters:
        if name != "routed_params":
            assert f"``{name}``" in text, f"docs/model.rst does not describe {name}"


def _code_blocks():
    """(where, code) of every Python block in the docs pages and the README."""
    blocks = []
    for path in sorted(DOCS.glob("*.rst")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            match = re.match(r"^(\s*)\.\. code-block:: python\s*$", line)
            if not match:
                continue
            body, indent = [], None
            for following in lines[i + 1 :]:
                if not following.strip():
                    body.append("")
                    continue
                width = len(following) - len(following.lstrip())
                if width <= len(match.group(1)):
                    break
                indent = width if indent is None else min(indent, width)
                body.append(following)
            code = "\n".join(b[indent:] for b in body).strip()
            blocks.append((f"{path.name}:{i + 1}", code))
    readme = (ROOT / "README.md").read_text()
    for i, code in enumerate(re.findall(r"```python\n(.*?)```", readme, re.S)):
        blocks.append((f"README.md block {i + 1}", code))
    return blocks


@pytest.mark.parametrize("where, code", _code_blocks(), ids=lambda v: str(v)[:40])
def test_code_in_the_pages_matches_the_api(where, code):
    tree = ast.parse(code, filename=where)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "sk_mnist"
        ):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), (
                    f"{where}: {node.module} has no {alias.name}"
                )


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci.startswith("pip install")
    readme = (ROOT / "README.md").read_text()
    assert f". .venv/bin/activate && {ci}" in readme
    getting_started = (DOCS / "getting_started.rst").read_text()
    assert f". .venv/bin/activate && {ci}" in getting_started


def test_every_example_is_a_gallery_example():
    examples = sorted((ROOT / "examples").glob("*.py"))
    assert len(examples) >= 6
    for path in examples:
        assert path.name.startswith("plot_"), f"{path.name}: not run by the gallery"
        tree = ast.parse(path.read_text())
        doc = ast.get_docstring(tree, clean=False) or ""
        lines = doc.strip().splitlines()
        assert len(lines) >= 3 and set(lines[1]) == {"="}, (
            f"{path.name}: needs a docstring with a title underlined by '='"
        )
        assert "load_sample" in path.read_text(), f"{path.name}: not on the sample"
