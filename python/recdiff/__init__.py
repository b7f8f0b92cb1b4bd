"""recdiff: diffusion recommenders (DiffRec, T-DiffRec) and baselines (EASE, ItemKNN, RP3beta, MostPopular)
over the header-only C++ library, in implicit's shape.

    import recdiff
    train, valid, test = recdiff.datasets.diffrec_splits("data/diffrec/ml-1m_clean")
    model = recdiff.EASE(l2=1000).fit(train)
    ids, scores = model.recommend(0, train[0], N=10)
    print(recdiff.evaluate(model, train, test, k=(10, 20), exclude=valid))

Matrices are scipy.sparse CSR, users x items (non-zero entries are interactions); results are numpy arrays.
Errors from the library keep its message: bad arguments raise ValueError (TypeError for a wrong type, e.g. a
CSC matrix), unreadable or malformed files OSError (FileNotFoundError when missing), the rest RuntimeError.
"""

from . import _recdiff
from ._recdiff import EASE, ItemKNN, MostPopular, RP3beta, DiffRec, TDiffRec, LDiffRec, __version__
from . import datasets

__all__ = ["EASE", "ItemKNN", "RP3beta", "MostPopular", "DiffRec", "TDiffRec", "LDiffRec", "evaluate", "load", "datasets",
           "__version__"]


def evaluate(model, train, test, k=(10, 20), exclude=None, average="all"):
    """Ranking metrics of `model` on `test`: every user of `train` is ranked from their train row, with the
    items of `train` (and of `exclude`, e.g. the validation split when scoring test) masked.

    Returns a dict keyed like the C++ reports: "precision@K", "recall@K", "ndcg@K", "mrr@K", "hit_rate@K"
    for each K in `k`. `average`: "all" (every user, those without test items count 0: DiffRec's protocol) or
    "with_test" (only users with test items).
    """
    if not hasattr(model, "_evaluate"):
        raise TypeError(f"recdiff.evaluate(): {type(model).__name__} is not a recdiff model")
    return model._evaluate(train, test, k, exclude, average)


def load(path):
    """The model in a checkpoint file written by `model.save(path)` or a C++ binary's --save."""
    return _recdiff.load(str(path))
