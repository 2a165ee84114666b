"""Several worker processes sharing the conversations on one PostgreSQL database (see cluster.py)."""
