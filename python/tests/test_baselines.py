"""The baselines through Python: keywords from the field tables, fit / recommend / scores / evaluate / save /
load, and the errors of bad input."""

import math

import numpy as np
import pytest
import scipy.sparse

import recdiff

from conftest import data_folder, random_interactions

BASELINES = [
    lambda: recdiff.EASE(l2=50.0),
    lambda: recdiff.ItemKNN(k=20, shrink=5.0),
    lambda: recdiff.RP3beta(alpha=1.0, beta=0.3, k=30),
    lambda: recdiff.MostPopular(),
]


def reference_metrics(ids, test, k):
    """recall@k and ndcg@k of ranked ids [users x K] against test, averaged over all users (numpy)."""
    recall, ndcg = [], []
    for u in range(test.shape[0]):
        truth = set(test.indices[test.indptr[u]:test.indptr[u + 1]].tolist())
        if not truth:
            recall.append(0.0)
            ndcg.append(0.0)
            continue
        hits = [1.0 if i in truth else 0.0 for i in ids[u, :k]]
        recall.append(sum(hits) / len(truth))
        dcg = sum(h / math.log2(r + 2) for r, h in enumerate(hits))
        idcg = sum(1.0 / math.log2(r + 2) for r in range(min(len(truth), k)))
        ndcg.append(dcg / idcg)
    return np.mean(recall), np.mean(ndcg)


@pytest.mark.parametrize("make", BASELINES)
def test_fit_recommend_evaluate(make, small, tmp_path):
    train, test = small
    model = make()
    assert model.fit(train) is model
    assert model.items == train.shape[1]
    ids, scores = model.recommend(5, train[5], N=10)
    assert ids.shape == (10,) and scores.shape == (10,) and ids.dtype == np.int32
    assert not ids.flags.writeable
    seen = set(train[5].indices.tolist())
    assert not seen & set(ids.tolist())
    assert np.all(np.diff(scores) <= 0)
    users = np.array([0, 3, 7])
    ids2, scores2 = model.recommend(users, train[users], N=10)
    assert ids2.shape == (3, 10)
    ids_unfiltered, _ = model.recommend(5, train[5], N=train.shape[1], filter_already_liked_items=False)
    assert sorted(ids_unfiltered.tolist()) == list(range(train.shape[1]))
    s = model.scores(train[users])
    assert s.shape == (3, train.shape[1])

    everyone = np.arange(train.shape[0])
    all_ids, _ = model.recommend(everyone, train, N=20)
    recall, ndcg = reference_metrics(all_ids, test, 20)
    m = recdiff.evaluate(model, train, test, k=(10, 20))
    assert set(m) == {f"{name}@{k}" for name in ("precision", "recall", "ndcg", "mrr", "hit_rate") for k in (10, 20)}
    assert m["recall@20"] == pytest.approx(recall, rel=1e-12)
    assert m["ndcg@20"] == pytest.approx(ndcg, rel=1e-6)

    path = tmp_path / "model.ckpt"
    model.save(str(path))
    loaded = recdiff.load(path)
    assert type(loaded) is type(model)
    assert loaded.hyperparameters() == model.hyperparameters()
    ids3, scores3 = loaded.recommend(users, train[users], N=10)
    np.testing.assert_array_equal(ids3, ids2)
    np.testing.assert_array_equal(scores3, scores2)


def test_exclude_masks_more_items(small):
    train, test = small
    model = recdiff.EASE(l2=10.0).fit(train)
    full = recdiff.evaluate(model, train, test, k=5)
    masked = recdiff.evaluate(model, train, test, k=5, exclude=test)
    assert full["recall@5"] > 0.0
    assert masked["recall@5"] == 0.0  # every test item is masked
    with_test = recdiff.evaluate(model, train, test, k=5, average="with_test")
    assert with_test["recall@5"] >= full["recall@5"]


def test_keywords_come_from_the_field_tables():
    assert recdiff.EASE(l2=123.5).hyperparameters() == {"lambda": "123.5", "solver": "llt"}  # before fit
    m = recdiff.EASE(l2=123.5, solver="ldlt").fit(random_interactions())
    assert m.hyperparameters() == {"lambda": "123.5", "solver": "ldlt"}
    k = recdiff.ItemKNN(k=7, shrink=np.float64(2.5), normalize_neighbours=True).fit(random_interactions())
    assert k.hyperparameters() == {"neighbours": "7", "shrink": "2.5", "normalize_neighbours": "1"}
    assert "lambda (or l2) = 500: L2 penalty" in recdiff.EASE.__doc__
    with pytest.raises(TypeError, match="unknown keyword argument 'l3'.*valid: lambda, l2"):
        recdiff.EASE(l3=1.0)
    with pytest.raises(TypeError, match="'lambda' and 'l2' set the same option"):
        recdiff.EASE(**{"lambda": 1.0, "l2": 2.0})
    with pytest.raises(ValueError, match="'lambda' = 'abc' is not a number"):
        recdiff.EASE(l2="abc")
    with pytest.raises(ValueError, match="lambda must be positive"):
        recdiff.EASE(l2=-1.0)
    with pytest.raises(ValueError, match="'solver' = 'qr' is not one of llt | ldlt"):
        recdiff.EASE(solver="qr")
    with pytest.raises(ValueError, match="'neighbours' = '2.5' is not a whole number"):
        recdiff.ItemKNN(k=2.5)
    with pytest.raises(TypeError, match="unknown keyword"):
        recdiff.MostPopular(k=3)


def test_an_allocation_refused_up_front_is_a_memory_error():
    with pytest.raises(MemoryError, match=r"EASE.*needs .* more than the"):
        recdiff.EASE(l2=10.0, memory_limit_bytes=1000).fit(random_interactions())
    recdiff.EASE(l2=10.0, memory_limit_bytes=10**8).fit(random_interactions())  # the same fit within its limit


def test_bad_input_raises_the_right_exception(small, tmp_path):
    train, _ = small
    model = recdiff.EASE(l2=10.0)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.recommend(0, train[0])
    with pytest.raises(TypeError, match="csc matrix; pass a CSR matrix"):
        model.fit(train.tocsc())
    with pytest.raises(TypeError, match="must be a scipy.sparse CSR matrix"):
        model.fit(train.toarray())
    bad = train.copy().astype(np.float64)
    bad.data[3] = np.nan
    with pytest.raises(ValueError, match=r"the value at \(\d+, \d+\) is nan"):
        model.fit(bad)
    bad.data[3] = -1.0
    with pytest.raises(ValueError, match="must be >= 0"):
        model.fit(bad)
    model.fit(train)
    with pytest.raises(ValueError, match="negative user id -1"):
        model.recommend(-1, train[0])
    with pytest.raises(ValueError, match="has 2 rows for 1 user ids"):
        model.recommend(0, train[[0, 1]])
    wide = scipy.sparse.csr_matrix((1, train.shape[1] + 3), dtype=np.float32)
    with pytest.raises(ValueError, match="items|columns"):
        model.recommend(0, wide)
    with pytest.raises(ValueError, match="one shape"):
        recdiff.evaluate(model, train, train[:10])
    with pytest.raises(ValueError, match="cut-off 0 must be positive"):
        recdiff.evaluate(model, train, train, k=(0,))
    with pytest.raises(TypeError, match="not a recdiff model"):
        recdiff.evaluate(object(), train, train)
    with pytest.raises(FileNotFoundError):
        recdiff.load(tmp_path / "missing.ckpt")
    with pytest.raises(FileNotFoundError):
        recdiff.datasets.diffrec_splits(tmp_path / "no-such-folder")
    corrupt = tmp_path / "corrupt.ckpt"
    model.save(str(corrupt))
    raw = bytearray(corrupt.read_bytes())
    raw[-5] ^= 0xFF
    corrupt.write_bytes(bytes(raw))
    with pytest.raises(OSError, match="corrupt.ckpt"):
        recdiff.load(corrupt)


def test_integer_and_weighted_input_is_binarised(small):
    train, _ = small
    weights = train.copy().astype(np.int64)
    weights.data[:] = 5
    a = recdiff.EASE(l2=10.0).fit(train)
    b = recdiff.EASE(l2=10.0).fit(weights)
    np.testing.assert_array_equal(a.scores(train[:4]), b.scores(weights[:4]))


def test_every_index_and_value_dtype_reads_the_same_interactions(small):
    # The conversion reads int32 / float32 buffers in place and casts the others: every combination, with
    # unsorted rows and explicit zeros, must give the interactions of the plain float32 matrix.
    train, _ = small
    reference = recdiff.EASE(l2=10.0).fit(train).scores(train[:6])
    shuffled = train.copy()
    for u in range(shuffled.shape[0]):  # reverse each row's stored order: rows no longer sorted
        a, b = shuffled.indptr[u], shuffled.indptr[u + 1]
        shuffled.indices[a:b] = shuffled.indices[a:b][::-1].copy()
        shuffled.data[a:b] = shuffled.data[a:b][::-1].copy()
    shuffled.has_sorted_indices = False
    with_zeros = scipy.sparse.csr_matrix((np.append(train.data, 0.0), np.append(train.indices, 0),
                                          np.append(train.indptr[:-1], train.nnz).tolist() + [train.nnz + 1]),
                                         shape=(train.shape[0] + 1, train.shape[1]))
    for index_type in (np.int32, np.int64):
        for value_type in (np.float32, np.float64, np.bool_, np.int8, np.uint16):
            m = shuffled.copy()
            m.indices = m.indices.astype(index_type)
            m.indptr = m.indptr.astype(index_type)
            m.data = m.data.astype(value_type)
            got = recdiff.EASE(l2=10.0).fit(m).scores(train[:6])
            np.testing.assert_array_equal(got, reference, err_msg=f"{np.dtype(index_type)} / {np.dtype(value_type)}")
    zeros_model = recdiff.EASE(l2=10.0).fit(with_zeros)  # the last row's one stored entry is a 0: no interaction
    np.testing.assert_array_equal(zeros_model.scores(train[:6]), reference)
    duplicate = scipy.sparse.csr_matrix((np.ones(3, np.float32), np.array([2, 5, 2]), np.array([0, 0, 3])),
                                        shape=(2, 8))
    with pytest.raises(ValueError, match=r"row 1 stores column 2 twice \(call sum_duplicates\(\)"):
        recdiff.MostPopular().fit(duplicate)
    outside = scipy.sparse.csr_matrix((np.ones(2, np.float32), np.array([2, 5]), np.array([0, 2])), shape=(1, 8))
    outside.indices[1] = 9
    with pytest.raises(ValueError, match=r"row 0 has column 9 outside \[0, 8\)"):
        recdiff.MostPopular().fit(outside)


def test_ease_reproduces_recall_on_ml_1m_clean():
    train, valid, test = recdiff.datasets.diffrec_splits(data_folder("diffrec", "ml-1m_clean"))
    model = recdiff.EASE(l2=1000).fit(train)
    m = recdiff.evaluate(model, train, test, k=(20,), exclude=valid)
    assert m["recall@20"] == pytest.approx(0.1816, abs=0.002)


def test_fit_releases_the_gil():
    """While EASE solves (C++, GIL released) another Python thread keeps running."""
    import threading
    import time

    x = random_interactions(users=3000, items=2000, density=0.02)
    model = recdiff.EASE(l2=100.0)
    done = {}

    def work():
        start = time.perf_counter()
        model.fit(x)
        done["seconds"] = time.perf_counter() - start

    t = threading.Thread(target=work)
    ticks = 0
    t.start()
    while t.is_alive():
        time.sleep(0.001)
        ticks += 1
    t.join()
    assert done["seconds"] > 0.05, "the fit was too short to tell"
    assert ticks >= 0.1 * done["seconds"] / 0.002  # a held GIL would leave ~1 tick until fit() returned
