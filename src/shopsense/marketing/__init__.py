"""Marketing spend."""
