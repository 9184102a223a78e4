"""``python -m lrlint``: the same as the ``lrlint`` command."""

from .startup import command_line

raise SystemExit(command_line())
