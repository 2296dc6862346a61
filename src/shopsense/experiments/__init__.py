"""Experiments: A/B statistics, always-valid monitoring, SRM checks and stable assignment."""

from shopsense.experiments import stats
from shopsense.experiments.stats import *  # noqa: F403 - the package answers with stats' API

__all__ = stats.__all__
