"""rayline: an open reference platform for machine learning at scale on Ray."""

__version__ = "0.1.0"
