"""Importers: real data sets and shop exports into the event store."""
