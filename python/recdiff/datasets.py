"""Data sets as scipy.sparse CSR matrices (users x items), loaded by the C++ library's loaders.

Each row keeps the library's stored order (the file's order, or time order when the file has timestamps):
its column indices are not sorted, which scipy allows; T-DiffRec reads that order as time order.
"""

import os

import numpy as np
import scipy.sparse

from . import _recdiff

__all__ = ["diffrec_splits", "movielens", "diffurec_sequences"]


def _csr(parts):
    shape, indptr, indices, data = parts
    m = scipy.sparse.csr_matrix((data, indices, indptr), shape=shape)
    m.has_sorted_indices = False
    return m


def diffrec_splits(folder):
    """DiffRec's own splits (train_list.npy, valid_list.npy, test_list.npy in `folder`) as (train, valid,
    test) CSR matrices of one shape: n_user = max train user + 1, n_item = max train item + 1."""
    train, valid, test = _recdiff._diffrec_splits(os.fspath(folder))
    return _csr(train), _csr(valid), _csr(test)


class MovieLens:
    """A MovieLens release: `interactions` (CSR users x items), `user_ids` and `item_ids` (the raw ids of the
    rows and columns, numpy int64) and `titles` (one per column)."""

    def __init__(self, interactions, user_ids, item_ids, titles):
        self.interactions = interactions
        self.user_ids = np.asarray(user_ids, dtype=np.int64)
        self.item_ids = np.asarray(item_ids, dtype=np.int64)
        self.titles = list(titles)

    def __repr__(self):
        n_users, n_items = self.interactions.shape
        return f"MovieLens({n_users} users, {n_items} items, {self.interactions.nnz} interactions)"


def movielens(name, mirror=None, min_rating=None):
    """A MovieLens release ("ml-100k", "ml-1m", ...) from `mirror`/`name` (mirror default: the environment's
    RECDIFF_DATA_MIRROR), or from `name` itself when it is a folder. Ratings >= min_rating are kept (all
    when None) and become 1; each user's interactions are in time order."""
    folder = os.fspath(name)
    if not os.path.isdir(folder):
        mirror = mirror if mirror is not None else os.environ.get("RECDIFF_DATA_MIRROR")
        if mirror is None:
            raise FileNotFoundError(f"recdiff.datasets.movielens(): {folder!r} is not a folder and no mirror is "
                                    "given (mirror= or RECDIFF_DATA_MIRROR)")
        folder = os.path.join(os.fspath(mirror), folder)
    parts, users, items, titles = _recdiff._movielens(folder, min_rating)
    return MovieLens(_csr(parts), users, items, titles)


class SequenceData:
    """Chronological item sequences split for next-item prediction as the C++ examples split them
    (data::leaveLastOut): `sequences` (every user's whole sequence, item ids 0 ... items-1, oldest first),
    `items` (the catalogue size), `train` (each sequence without its last two items; a user with fewer than 3
    items keeps all of them and has no held-out item), `valid` = (histories, targets) with the second to last
    item as target after the train part, `test` = (histories, targets) with the last item after the rest,
    `description` (what was read)."""

    def __init__(self, sequences, items, description):
        self.sequences = sequences
        self.items = int(items)
        self.description = description
        self.train = [s if len(s) < 3 else s[:-2] for s in sequences]
        held = [s for s in sequences if len(s) >= 3]
        self.valid = ([s[:-2] for s in held], np.array([s[-2] for s in held], dtype=np.int64))
        self.test = ([s[:-1] for s in held], np.array([s[-1] for s in held], dtype=np.int64))

    def __repr__(self):
        return (f"SequenceData({len(self.sequences)} users, {self.items} items, "
                f"{sum(len(s) for s in self.sequences)} interactions: {self.description})")


def diffurec_sequences(folder, min_rating=None):
    """The sequences of the C++ sequential examples' --data (diffurec_movielens, dreamrec_movielens): a folder
    with DiffuRec's export (sequences.txt, e.g. data/diffurec/ml-1m) or a raw MovieLens release (each user's
    ratings >= min_rating in time order). Item ids are shifted to 0 ... items-1 (the file's 1 ... items; the C++
    models' padding id 0 never appears in Python). Returns a SequenceData (train / valid / test splits)."""
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"recdiff.datasets.diffurec_sequences(): {folder!r} is not a folder")
    sequences, items, description = _recdiff._diffurec_sequences(folder, min_rating)
    return SequenceData(sequences, items, description)
