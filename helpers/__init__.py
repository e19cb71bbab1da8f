"""Thin plumbing the notebooks import, so each notebook shows the Batch calls and little else.

Importing it in a Jupyter kernel also holds closed solutions back (helpers/solutions.py): every
notebook imports helpers before its first exercise."""

from .solutions import hold_closed_solutions

hold_closed_solutions()
