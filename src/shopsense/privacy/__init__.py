"""Privacy: erasure of a user."""
