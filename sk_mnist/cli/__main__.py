"""``python -m sk_mnist.cli``: the ``sk-mnist`` command."""

import sys

from ._main import main

sys.exit(main())
