"""recdiff.datasets: DiffRec's .npy splits (shape, stored order) and the MovieLens loader."""

import os

import numpy as np
import pytest

import recdiff

from conftest import data_folder


def test_diffrec_splits_keep_the_files_order():
    folder = data_folder("diffrec", "ml-1m_clean")
    train, valid, test = recdiff.datasets.diffrec_splits(folder)
    assert train.shape == valid.shape == test.shape == (5949, 2810)
    pairs = np.load(os.path.join(folder, "train_list.npy"))
    assert train.nnz == len(pairs)
    for u in (0, 17, 5948):
        np.testing.assert_array_equal(train.indices[train.indptr[u]:train.indptr[u + 1]], pairs[pairs[:, 0] == u, 1])
    assert valid.nnz == len(np.load(os.path.join(folder, "valid_list.npy")))
    assert set(train.data.tolist()) == {1.0}


def test_diffrec_splits_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_list.npy"):
        recdiff.datasets.diffrec_splits(tmp_path)
    np.save(tmp_path / "train_list.npy", np.array([[0, 1], [1, 2]]))
    np.save(tmp_path / "valid_list.npy", np.array([[0, 7]]))
    np.save(tmp_path / "test_list.npy", np.array([[1, 0]]))
    with pytest.raises(OSError, match=r"valid_list.npy: row 0: \(user 0, item 7\) outside"):
        recdiff.datasets.diffrec_splits(tmp_path)


def test_movielens_100k_from_the_mirror():
    mirror = os.environ.get("RECDIFF_DATA_MIRROR")
    if not mirror or not os.path.isdir(os.path.join(mirror, "ml-100k")):
        pytest.skip("RECDIFF_DATA_MIRROR with ml-100k/ is not set")
    ml = recdiff.datasets.movielens("ml-100k", mirror=mirror)
    assert ml.interactions.shape == (943, 1682) and ml.interactions.nnz == 100000
    assert len(ml.titles) == 1682 and len(ml.item_ids) == 1682 and len(ml.user_ids) == 943
    assert "Toy Story (1995)" in ml.titles
    liked = recdiff.datasets.movielens(os.path.join(mirror, "ml-100k"), min_rating=4)
    assert liked.interactions.nnz == 55375


def test_movielens_without_a_mirror(monkeypatch, tmp_path):
    monkeypatch.delenv("RECDIFF_DATA_MIRROR", raising=False)
    with pytest.raises(FileNotFoundError, match="no mirror is given"):
        recdiff.datasets.movielens("ml-100k-nowhere")
    with pytest.raises(FileNotFoundError):
        recdiff.datasets.movielens("ml-1m", mirror=tmp_path)
