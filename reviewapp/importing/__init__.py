"""Turning plan files into cleaned text and clauses.

Everything in this package is pure: bytes in, dataclasses out, no Django and no database, so it
can run inside the sandboxed parser process (see ``sandbox.py``) and in ``import_plans --dry-run``.
"""
