"""Shared fixtures: a small random interaction matrix for the fast tests, and the real data / C++ binaries for
the parity tests (RECDIFF_TEST_DATA = the shared data folder, else the parent of RECDIFF_DATA_MIRROR; RECDIFF_EXAMPLES_DIR = <build>/examples; the
tests that need them skip with a message when they are not set)."""

import os

import numpy as np
import pytest
import scipy.sparse


def random_interactions(users=120, items=60, density=0.12, seed=7):
    rng = np.random.default_rng(seed)
    dense = (rng.random((users, items)) < density).astype(np.float32)
    dense[np.arange(users), rng.integers(0, items, users)] = 1.0  # every user has an interaction
    return scipy.sparse.csr_matrix(dense)


@pytest.fixture
def small():
    """(train, test) of 120 users x 60 items with disjoint entries."""
    full = random_interactions(density=0.25)
    rng = np.random.default_rng(3)
    coo = full.tocoo()
    held = rng.random(coo.nnz) < 0.2
    shape = full.shape
    train = scipy.sparse.csr_matrix((coo.data[~held], (coo.row[~held], coo.col[~held])), shape=shape)
    test = scipy.sparse.csr_matrix((coo.data[held], (coo.row[held], coo.col[held])), shape=shape)
    return train, test


def data_folder(*parts):
    root = os.environ.get("RECDIFF_TEST_DATA")
    if not root and os.environ.get("RECDIFF_DATA_MIRROR"):  # as the C++ data tests: the mirror's parent
        root = os.path.dirname(os.path.abspath(os.environ["RECDIFF_DATA_MIRROR"]))
    if not root:
        pytest.skip("RECDIFF_TEST_DATA (or RECDIFF_DATA_MIRROR) is not set (the shared data folder)")
    path = os.path.join(root, *parts)
    if not os.path.isdir(path):
        pytest.skip(f"no {path}")
    return path


def example_binary(name):
    folder = os.environ.get("RECDIFF_EXAMPLES_DIR")
    if not folder:
        pytest.skip("RECDIFF_EXAMPLES_DIR is not set (<build>/examples)")
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        pytest.skip(f"no {path} (build the {name} target)")
    return path


def subset_of_ml_1m_clean(tmp_path, users=1200):
    folder = data_folder("diffrec", "ml-1m_clean")
    out = tmp_path / "ml-1m_subset"
    out.mkdir()
    train = np.load(os.path.join(folder, "train_list.npy"))
    train = train[train[:, 0] < users]
    items = train[:, 1].max() + 1  # the loader's shape rule: held-out items must be train items' range
    np.save(out / "train_list.npy", train)
    for name in ("valid_list.npy", "test_list.npy"):
        pairs = np.load(os.path.join(folder, name))
        np.save(out / name, pairs[(pairs[:, 0] < users) & (pairs[:, 1] < items)])
    return out
