"""parbench: how Python's parallel backends really perform on scientific workloads."""

__version__ = "0.1.0"
