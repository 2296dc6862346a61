"""Offline evaluation of the recommenders: published data-set protocols, RecBole's top-k
metrics, and a runner that fits every model once and scores it on each variant."""

from shopsense.recommend.evaluation.datasets import (
    PROTOCOLS,
    DatasetMissing,
    Split,
    WrongProtocol,
    check_protocol,
    demo,
    load,
    movielens_100k,
    online_retail,
)
from shopsense.recommend.evaluation.metrics import Bootstrap, paired_bootstrap
from shopsense.recommend.evaluation.report import tables
from shopsense.recommend.evaluation.runner import (
    VARIANTS,
    Evaluation,
    ModelScores,
    choose_models,
    default_models,
    evaluate,
)

__all__ = [
    "PROTOCOLS",
    "VARIANTS",
    "Bootstrap",
    "DatasetMissing",
    "Evaluation",
    "ModelScores",
    "Split",
    "WrongProtocol",
    "check_protocol",
    "choose_models",
    "default_models",
    "demo",
    "evaluate",
    "load",
    "movielens_100k",
    "online_retail",
    "paired_bootstrap",
    "tables",
]
