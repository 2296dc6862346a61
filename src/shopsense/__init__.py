"""shopsense: a self-hosted personalization and analytics server for online shops."""

__version__ = "0.1.0"
