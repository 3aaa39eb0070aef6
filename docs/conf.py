"""Sphinx configuration of the sk-mnist documentation.

Build (no network needed): ``sphinx-build -W -b html docs docs/_build/html``.
The gallery runs every ``examples/plot_*.py`` on the embedded sample; add
``-D plot_gallery=0`` for a quick build without running them (the pages that
show the gallery's figures then warn, so drop ``-W`` too).
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow start-up
os.environ.setdefault("MPLBACKEND", "Agg")

import sk_mnist  # noqa: E402

project = "sk-mnist"
author = "the sk-mnist developers"
copyright = "the sk-mnist developers; MNIST sample CC BY-SA 3.0"
version = release = sk_mnist.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    # docs/benchmarks.md (and any other Markdown page) as it is.
    "myst_parser",
    # .. sk-mnist-cli:: and the generated api.rst (docs/_ext).
    "sk_mnist_sphinx",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
]
# `name` in numpydoc docstrings (a parameter) renders as code, as in sklearn.
default_role = "literal"

# -- HTML: Sphinx's default theme, no extra dependency ------------------------
html_theme = "alabaster"
html_title = f"sk-mnist {release}"
html_theme_options = {
    "description": "A scikit-learn MNIST classifier on Keras 3",
    "page_width": "1100px",
    "sidebar_width": "230px",
    "fixed_sidebar": True,
}
html_static_path = ["_static"]
html_show_sourcelink = False

# -- autodoc, autosummary, numpydoc ---------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
# Methods are documented on the class page by autodoc; numpydoc's own
# member tables would list them a second time.
numpydoc_show_class_members = False
numpydoc_xref_param_type = False

# -- sphinx-gallery -------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Run every example (the default runs only those whose name starts with
    # "plot"; said explicitly, since CI relies on it).
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "doc_module": ("sk_mnist",),
    "backreferences_dir": "generated/backreferences",
    # A cell ending in a display or a matplotlib object shows its figure;
    # its repr ("<...Display object at 0x...>") says nothing more.
    "ignore_repr_types": r"Display'>$|'matplotlib\.",
}
