"""The evaluation loaders on small hand-made files whose every count is worked out below."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from shopsense.recommend.evaluation.datasets import (
    DatasetMissing,
    WrongProtocol,
    check_protocol,
    load,
    movielens_100k,
    online_retail,
    split_counts,
)

HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
RETAIL = f"""{HEADER}
540001,A,ALPHA,2,2011-10-01 10:00:00,1.0,100.0,United Kingdom
540001,B,BRAVO,1,2011-10-01 10:00:00,1.0,100.0,United Kingdom
540002,A,ALPHA,5,2011-10-20 09:00:00,1.0,200,United Kingdom
C540003,B,BRAVO,-1,2011-10-21 09:00:00,1.0,100,United Kingdom
540004,C,CHARLIE,3,2011-10-22 09:00:00,1.0,,United Kingdom
540005,D,DELTA,-2,2011-10-23 09:00:00,1.0,200,United Kingdom
540006,B,bravo alt,1,2011-10-24 09:00:00,1.0,300,France
540007,A,ALPHA,1,2011-11-01 12:00:00,1.0,100,United Kingdom
550001,A,ALPHA,1,2011-11-10 10:00:00,1.0,100,United Kingdom
550001,E,ECHO,1,2011-11-10 10:00:00,1.0,100,United Kingdom
550002,B,BRAVO,2,2011-11-15 10:00:00,1.0,200,United Kingdom
550002,B,BRAVO,1,2011-11-15 10:00:00,1.0,200,United Kingdom
550003,A,ALPHA,1,2011-11-20 10:00:00,1.0,999,United Kingdom
C550004,A,ALPHA,-1,2011-11-21 10:00:00,1.0,300,France
550005,C,CHARLIE,1,2011-11-22 10:00:00,1.0,100,United Kingdom
550006,B,BRAVO,1,2011-12-10 08:00:00,1.0,100,United Kingdom
"""
# Before the cut (2011-11-09), the purchase lines are 540001 (two), 540002, 540006 and
# 540007: 5 events of customers 100, 200 and 300 on items A and B. Dropped: the credit note
# C540003, 540004 (no customer: so C is never sold in training) and 540005 (quantity -2).
# From the cut: 100 rebuys A (relevant, a repeat) and buys E (never sold before: dropped);
# 200 buys B twice (one relevant item); 999 is not a training customer; 300's only line is
# a credit note; C was never sold in training; 550006 falls after the end (2011-12-10).
# So the test is {100: {A}, 200: {B}}, and B is new to 200 while A is a repeat for 100.


@pytest.fixture
def retail(tmp_path: Path) -> Path:
    path = tmp_path / "online_retail.csv.gz"
    path.write_bytes(gzip.compress(RETAIL.encode()))
    return path


def _relevant(test: sp.csr_matrix, users: list[str], items: list[str]) -> dict[str, set[str]]:
    coo = test.tocoo()
    out: dict[str, set[str]] = {}
    for u, i in zip(coo.row.tolist(), coo.col.tolist(), strict=True):
        out.setdefault(users[u], set()).add(items[i])
    return out


def test_online_retail_counts(retail: Path) -> None:
    split = online_retail(retail)
    train = split.train
    assert (split.dataset, split.protocol, split.phase, split.repeats) == (
        "online-retail", "temporal", "test", True,
    )  # fmt: skip
    assert train.user_ids.tolist() == ["100", "200", "300"]
    assert train.item_ids.tolist() == ["A", "B"]
    assert train.events.height == 5
    assert set(train.events["kind"].to_list()) == {"purchase"}
    # 100 bought A twice and B once, at 5 per purchase.
    assert train.matrix.toarray().tolist() == [[10.0, 5.0], [5.0, 0.0], [0.0, 5.0]]
    # B's name: "BRAVO" and "bravo alt" sold once each in training; ties go alphabetically.
    assert train.items["name"].to_list() == ["ALPHA", "BRAVO"]
    users, items = train.user_ids.tolist(), train.item_ids.tolist()
    assert _relevant(split.test, users, items) == {"100": {"A"}, "200": {"B"}}
    assert [users[u] for u in split.users] == ["100", "200"]
    assert split.validation is None and split.exclude is None
    assert train.as_of.isoformat() == "2011-11-09T00:00:00"


def test_online_retail_validation_moves_back_30_days(retail: Path) -> None:
    # Train before 2011-10-10: 540001 only (customer 100: A, B). Evaluate 2011-10-10 up to
    # the test cut: 540002 and 540006 are customers unseen in training, 540007 is 100 rebuying A.
    split = online_retail(retail, validation=True)
    assert split.phase == "validation" and split.label == "temporal-validation"
    assert split.train.user_ids.tolist() == ["100"]
    assert split.train.events.height == 2
    users, items = split.train.user_ids.tolist(), split.train.item_ids.tolist()
    assert _relevant(split.test, users, items) == {"100": {"A"}}


def test_online_retail_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissing, match="SHOPSENSE_DATASETS"):
        online_retail(tmp_path / "nothing.csv.gz")


def test_split_counts_follow_recbole() -> None:
    # floor(0.1 n) held out twice; under 10, one each (test first) while train keeps > 1.
    n = np.array([1, 2, 3, 5, 9, 10, 15, 20, 31])
    train, valid, test = split_counts(n)
    assert train.tolist() == [1, 1, 1, 3, 7, 8, 13, 16, 25]
    assert valid.tolist() == [0, 0, 1, 1, 1, 1, 1, 2, 3]
    assert test.tolist() == [0, 1, 1, 1, 1, 1, 1, 2, 3]


# Positives per user (rating >= 3): 1 -> 20, 2 -> 5, 3 -> 2, 4 -> 1, 5 -> 15; users 1 and 2
# also rated 2 or less, which is dropped. Splits 8:1:1 (see above): 1 -> 16/2/2,
# 2 -> 3/1/1, 3 -> 1/0/1, 4 -> 1/0/0, 5 -> 13/1/1: train 34, validation 4, test 5.
POSITIVES = {1: 20, 2: 5, 3: 2, 4: 1, 5: 15}


@pytest.fixture
def movielens(tmp_path: Path) -> Path:
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    lines = []
    for user, count in POSITIVES.items():
        for j in range(count):
            lines.append(f"{user}\t{j + 1}\t{3 + j % 3}\t{880000000 + 3600 * j}")
    lines += ["1\t25\t2\t880000000", "1\t26\t1\t880000000", "2\t27\t2\t880000000"]
    (folder / "u.data").write_text("\n".join(lines) + "\n")
    flags = ["0"] * 19
    comedy_drama = flags.copy()
    comedy_drama[5] = comedy_drama[8] = "1"
    items = [
        "|".join(["1", "Café Society (1995)", "01-Jan-1995", "", "http://x", *comedy_drama]),
        "|".join(["2", "Second (1996)", "01-Jan-1996", "", "http://y", *flags]),
    ]
    (folder / "u.item").write_bytes(("\n".join(items) + "\n").encode("latin-1"))
    return folder


def test_movielens_split_sizes(movielens: Path) -> None:
    split = movielens_100k(movielens, seed=1)
    train = split.train
    assert (split.protocol, split.phase, split.repeats) == ("random", "test", False)
    assert train.events.height == 34
    assert split.validation is not None and split.validation.nnz == 4
    assert split.test.nnz == 5
    users = train.user_ids.tolist()
    per_user = {
        users[u]: (int(t), int(v), int(s))
        for u, (t, v, s) in enumerate(
            zip(
                np.diff(train.matrix.indptr),
                np.diff(split.validation.indptr),
                np.diff(split.test.indptr),
                strict=True,
            )
        )
    }
    assert per_user == {
        "1": (16, 2, 2), "2": (3, 1, 1), "3": (1, 0, 1), "4": (1, 0, 0), "5": (13, 1, 1),
    }  # fmt: skip
    assert [users[u] for u in split.users] == ["1", "2", "3", "5"]
    # The three parts are disjoint and together every positive; ratings <= 2 are gone.
    seen = train.matrix.toarray() > 0
    valid, test = split.validation.toarray() > 0, split.test.toarray() > 0
    assert not (seen & valid).any() and not (seen & test).any() and not (valid & test).any()
    assert int((seen | valid | test).sum()) == sum(POSITIVES.values())
    assert {"25", "26", "27"}.isdisjoint(train.item_ids.tolist())
    # At test time the validation items are excluded from the ranking, as in RecBole.
    assert split.exclude is not None and (split.exclude != split.validation).nnz == 0
    assert set(train.events["kind"].to_list()) == {"purchase"}


def test_movielens_seed_and_validation(movielens: Path) -> None:
    a, b = movielens_100k(movielens, seed=1), movielens_100k(movielens, seed=1)
    assert (a.test != b.test).nnz == 0
    other = movielens_100k(movielens, seed=2)
    assert (a.test != other.test).nnz > 0
    valid = movielens_100k(movielens, seed=1, validation=True)
    assert valid.phase == "validation" and valid.exclude is None
    assert (valid.test != a.validation).nnz == 0
    users = valid.train.user_ids.tolist()
    assert [users[u] for u in valid.users] == ["1", "2", "5"]


def test_movielens_item_text(movielens: Path) -> None:
    items = movielens_100k(movielens).train.items
    first = items.filter(items["item_id"] == "1").row(0, named=True)
    assert first["name"] == "Café Society (1995)"
    assert first["category"] == "Comedy"
    assert first["attributes"] == "Comedy Drama"
    second = items.filter(items["item_id"] == "2").row(0, named=True)
    assert second["name"] == "Second (1996)" and second["category"] is None
    # Movies absent from u.item are still ranked, just without text.
    assert items.filter(items["item_id"] == "20")["name"].to_list() == [None]


def test_movielens_missing(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissing, match="u.data"):
        movielens_100k(tmp_path)
    with pytest.raises(DatasetMissing, match="SHOPSENSE_DATASETS"):
        load("ml-100k", None)


def test_protocols_are_enforced() -> None:
    assert check_protocol("online-retail", None) == "temporal"
    assert check_protocol("ml-100k", "random") == "random"
    with pytest.raises(WrongProtocol, match="random"):
        check_protocol("ml-100k", "temporal")
    with pytest.raises(WrongProtocol, match="temporal"):
        check_protocol("demo", "random")
    with pytest.raises(DatasetMissing):
        load("demo", None)
