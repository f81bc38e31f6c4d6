"""Test harness helpers (real components started for the test suite).

`postgis` starts and stops a throwaway PostgreSQL + PostGIS server; `tests/conftest.py`
wraps it in pytest fixtures.
"""
