"""The dashboard: one query module per page (overview, users, recommendations, profit), the
rollups that keep them fast, and the server-rendered pages under ``/ui/``."""
