"""The ``sk-mnist`` command: train, evaluate, predict, export and serve, thin
over the library.

Every failure a user can cause (bad options, missing or malformed files, a
corrupt model, an output that would replace an input) ends with one
``error: ...`` line on stderr and exit status 2; Ctrl-C ends with exit
status 130 and SIGTERM with 143 (``serve``, which runs until stopped, with
0). Nothing half-written is left behind: output is written under a temporary
name next to its destination and renamed into place only when complete.

The public names are :func:`main` (the console script) and
:func:`build_parser`; the rest is private, one module per concern:

* ``_main`` - ``main``: parsing (of the subcommand named only), dispatch
  to the subcommand, exit status;
* ``_parser`` - ``build_parser``, wired from the subcommands' parsers;
* ``_options`` - argument types and the options several subcommands share;
* ``_train``, ``_evaluate`` (evaluate and predict), ``_deploy`` (export and
  serve), ``_search``, ``_download`` - the subcommands, each with its
  parser;
* ``_data`` - reading ``--train``/``--test``/``--dataset``/``--data``;
* ``_images`` - which of those paths are images, and reading them;
* ``_report`` - metrics, versions and progress lines;
* ``_run_folder`` - the ``--out`` folder: staging, the earlier-run check;
* ``_outputs`` - the rules for output files;
* ``_errors`` - failures as one line and an exit status, SIGTERM.
"""

from ._main import main
from ._parser import build_parser

__all__ = ["build_parser", "main"]
