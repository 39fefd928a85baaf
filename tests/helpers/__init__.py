"""Plain helpers shared by tests (and by the processes some tests start), never test modules:
what is a fixture lives in a conftest.py instead."""
