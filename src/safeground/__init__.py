"""Safeground: the national mine action record, intake, risk model and land-release planning."""

__version__ = "0.1.0"
