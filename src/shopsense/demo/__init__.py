"""The demo store: a generated shop with planted, known behaviour to run shopsense against."""

from shopsense.demo.generator import DemoStore, StoreSpec, build_store, generate_store

__all__ = ["DemoStore", "StoreSpec", "build_store", "generate_store"]
