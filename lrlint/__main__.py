"""``python -m lrlint``: the same as the ``lrlint`` command."""

from .cli import main

raise SystemExit(main())
