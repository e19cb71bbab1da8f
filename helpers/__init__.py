"""Thin plumbing the notebooks import, so each notebook shows the Batch calls and little else."""
