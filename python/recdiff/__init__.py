"""recdiff: diffusion recommenders (DiffRec, L-DiffRec, T-DiffRec; the sequential DiffuRec and DreamRec) and
baselines (EASE, ItemKNN, RP3beta, MostPopular) over the header-only C++ library, in implicit's shape.

    import recdiff
    train, valid, test = recdiff.datasets.diffrec_splits("data/diffrec/ml-1m_clean")
    model = recdiff.EASE(l2=1000).fit(train)
    ids, scores = model.recommend(0, train[0], N=10)
    print(recdiff.evaluate(model, train, test, k=(10, 20), exclude=valid))

Matrices are scipy.sparse CSR, users x items (non-zero entries are interactions); results are numpy arrays.
The sequential models take lists of 1-d item-id arrays (ids 0 ... items-1, oldest first):

    data = recdiff.datasets.diffurec_sequences("data/diffurec/ml-1m")
    model = recdiff.DreamRec(epochs=20).fit(data.train, validation=data.valid, items=data.items)
    print(recdiff.evaluate(model, *data.test, k=(10, 20)))      # {"hr@10": ..., "ndcg@10": ...}

Errors from the library keep its message: bad arguments raise ValueError (TypeError for a wrong type, e.g. a
CSC matrix), unreadable or malformed files OSError (FileNotFoundError when missing), the rest RuntimeError.
"""

from . import _recdiff
from ._recdiff import EASE, ItemKNN, MostPopular, RP3beta, DiffRec, TDiffRec, LDiffRec, DiffuRec, DreamRec, __version__
from . import datasets

__all__ = ["EASE", "ItemKNN", "RP3beta", "MostPopular", "DiffRec", "TDiffRec", "LDiffRec", "DiffuRec", "DreamRec",
           "evaluate", "load", "datasets", "__version__"]


def evaluate(model, train, test, k=(10, 20), exclude=None, average="all", protocol="default", validation=None):
    """Ranking metrics of `model` on held-out data, keyed like the C++ reports.

    Interaction models (EASE, ..., DiffRec): `train` and `test` are CSR matrices of one shape; every user of
    `train` is ranked from their train row, with the items of `train` (and of `exclude`, e.g. the validation
    split when scoring test) masked. Returns "precision@K", "recall@K", "ndcg@K", "mrr@K", "hit_rate@K" for
    each K in `k`. `average`: "all" (every user, those without test items count 0: DiffRec's protocol) or
    "with_test" (only users with test items). DiffRec / TDiffRec with `validation` (a CSR of train's shape):
    the C++ examples' evaluation, one inference pass ranked twice, for validation (train masked) and for test
    (train + validation masked); returns "valid.recall@K", ..., "test.recall@K", ... (`exclude` not allowed).

    Sequence models (DiffuRec, DreamRec): `train` is a list of histories (1-d item-id arrays, oldest first)
    and `test` one target item per history, e.g. `*recdiff.datasets.diffurec_sequences(f).test`. Every
    target is ranked among all items after its history; returns "hr@K" and "ndcg@K". `protocol`: "default"
    (the whole history masked, per-history mean) or "reference" (DiffuRec's evaluation code: nothing masked,
    the padding item ranked, the mean of batch means). The random streams are the C++ example's test table
    (`diffurec_movielens` / `dreamrec_movielens --seed <model seed>`).
    """
    if hasattr(model, "_evaluate_next_item"):
        if exclude is not None or average != "all" or validation is not None:
            raise TypeError(f"recdiff.evaluate(): exclude= and average= are for interaction models, not "
                            f"{type(model).__name__} (which masks each history itself; see protocol=)")
        return model._evaluate_next_item(train, test, k, protocol)
    if not hasattr(model, "_evaluate"):
        raise TypeError(f"recdiff.evaluate(): {type(model).__name__} is not a recdiff model")
    if protocol != "default":
        raise TypeError("recdiff.evaluate(): protocol= is for the sequence models (DiffuRec, DreamRec)")
    if validation is not None:
        if not hasattr(model, "_evaluate_with_validation"):
            raise TypeError(f"recdiff.evaluate(): validation= is for DiffRec and TDiffRec, not {type(model).__name__}")
        if exclude is not None:
            raise TypeError("recdiff.evaluate(): validation= masks the validation items for test itself; drop exclude=")
        return model._evaluate_with_validation(train, validation, test, k, average)
    return model._evaluate(train, test, k, exclude, average)


def load(path):
    """The model in a checkpoint file written by `model.save(path)` or a C++ binary's --save."""
    return _recdiff.load(str(path))
