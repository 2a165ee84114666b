"""Durable storage: the Store port on SQL (sqlmodel, alembic), and long-horizon jobs on APScheduler."""
