"""Persistence: SQLModel tables, the database engine, named queries and migrations.

Nothing here imports from ``flows`` or ``bot``.
"""
