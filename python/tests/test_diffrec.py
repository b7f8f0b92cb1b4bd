"""DiffRec and T-DiffRec through Python: keywords, fit with validation / callback / Ctrl-C, determinism,
checkpoints, and parity with the C++ example (examples/diffrec_movielens) on a subset of ml-1m_clean."""

import json
import os
import re
import subprocess
import threading
import _thread

import numpy as np
import pytest

import recdiff

from conftest import example_binary, subset_of_ml_1m_clean

SMALL = dict(dims=(16,), emb_size=4, batch_size=32, steps=5, threads=1)


def test_keywords_and_defaults():
    m = recdiff.DiffRec()
    h = m.hyperparameters()
    assert h["steps"] == "40" and h["dims"] == "200,600" and h["lr"] == "0.001" and h["batch_size"] == "400"
    m = recdiff.DiffRec(steps=10, dims=[300], lr=np.float32(2e-3), precision="float", norm=True)
    h = m.hyperparameters()
    assert (h["steps"], h["dims"], h["norm"], h["training_precision"]) == ("10", "300", "1", "float")
    assert float(h["lr"]) == pytest.approx(2e-3, rel=1e-7)
    assert "epochs = 1000" in recdiff.DiffRec.__doc__ and "training_precision (or precision)" in recdiff.DiffRec.__doc__
    with pytest.raises(TypeError, match="unknown keyword argument 'step'"):
        recdiff.DiffRec(step=3)
    with pytest.raises(ValueError, match="'dims' = '200,-1' is not a comma-separated list of positive whole numbers"):
        recdiff.DiffRec(dims=(200, -1))
    with pytest.raises(ValueError, match="'noise_schedule' = 'zigzag'"):
        recdiff.DiffRec(noise_schedule="zigzag")
    with pytest.raises(ValueError, match="metric = 'recall' is not <name>@<K>"):
        recdiff.DiffRec(metric="recall")
    with pytest.raises(ValueError, match="need 0 < wMin <= wMax"):
        recdiff.TDiffRec(w_min=0.0)
    assert recdiff.TDiffRec(w_min=0.2).hyperparameters()["w_min"] == "0.2"


def test_fit_recommend_save_load(small, tmp_path):
    train, test = small
    seen = []
    m = recdiff.DiffRec(epochs=3, seed=3, **SMALL)
    assert m.fit(train, show_progress=False, callback=lambda e, d: seen.append((e, d["loss"]))) is m
    assert [e for e, _ in seen] == [1, 2, 3] and all(np.isfinite(l) for _, l in seen)
    assert m.fit_result["epochs"] == 3 and m.fit_result["losses"] == [l for _, l in seen]
    ids, scores = m.recommend(np.arange(10), train[:10], N=5)
    assert ids.shape == (10, 5)
    for u in range(10):
        assert not set(ids[u].tolist()) & set(train[u].indices.tolist())
    again = recdiff.DiffRec(epochs=3, seed=3, **SMALL).fit(train, show_progress=False)
    np.testing.assert_array_equal(again.scores(train), m.scores(train))  # one seed, one run
    other = recdiff.DiffRec(epochs=3, seed=4, **SMALL).fit(train, show_progress=False)
    assert not np.array_equal(other.scores(train), m.scores(train))
    path = tmp_path / "diffrec.ckpt"
    m.save(str(path))
    loaded = recdiff.load(str(path))
    assert isinstance(loaded, recdiff.DiffRec) and loaded.items == train.shape[1]
    np.testing.assert_array_equal(loaded.scores(train), m.scores(train))
    assert recdiff.evaluate(loaded, train, test, k=5) == recdiff.evaluate(m, train, test, k=5)


def test_validation_early_stopping_keeps_the_best(small):
    train, valid = small
    m = recdiff.DiffRec(epochs=6, eval_every=2, patience=2, seed=1, **SMALL)
    evaluated = []
    m.fit(train, validation=valid, show_progress=False,
          callback=lambda e, d: evaluated.append(e) if "valid.recall@20" in d else None)
    r = m.fit_result
    assert evaluated and all(e % 2 == 0 for e in evaluated)
    assert r["best_epoch"] in evaluated
    assert r["best"]["valid.recall@20"] == pytest.approx(recdiff.evaluate(m, train, valid, k=20)["recall@20"])
    with pytest.raises(ValueError, match="validation is"):
        m.fit(train, validation=valid[:5])


def test_callback_exception_and_ctrl_c_stop_training(small):
    train, _ = small

    class Stop(Exception):
        pass

    def boom(epoch, metrics):
        if epoch == 2:
            raise Stop("from the callback")

    m = recdiff.DiffRec(epochs=50, **SMALL)
    with pytest.raises(Stop):
        m.fit(train, show_progress=False, callback=boom)
    assert m.fit_result["epochs"] == 2
    m.recommend(0, train[0])  # usable

    m = recdiff.DiffRec(epochs=100000, **SMALL)
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            m.fit(train, show_progress=False)
    finally:
        timer.cancel()
    assert 0 < m.fit_result["epochs"] < 100000
    ids, _ = m.recommend(0, train[0], N=3)
    assert ids.shape == (3,)


def test_tdiffrec_reads_the_stored_order(small):
    train, _ = small
    a = recdiff.TDiffRec(epochs=2, w_min=0.1, **SMALL).fit(train, show_progress=False)
    reversed_rows = train.copy()
    for u in range(train.shape[0]):
        lo, hi = train.indptr[u], train.indptr[u + 1]
        reversed_rows.indices[lo:hi] = train.indices[lo:hi][::-1]
    reversed_rows.has_sorted_indices = False
    assert not np.array_equal(a.scores(train[:20]), a.scores(reversed_rows[:20]))
    same = recdiff.DiffRec(epochs=2, **SMALL).fit(train, show_progress=False)
    tw = recdiff.TDiffRec(epochs=2, w_min=1.0, w_max=1.0, **SMALL).fit(train, show_progress=False)
    np.testing.assert_array_equal(tw.scores(train), same.scores(train))  # all weights 1: DiffRec


@pytest.mark.parametrize("mean_type", ["x0", "eps"])
def test_python_equals_the_cpp_example(tmp_path, mean_type):
    binary = example_binary("diffrec_movielens")
    data = subset_of_ml_1m_clean(tmp_path)
    report, cpp_ckpt = tmp_path / "report.json", tmp_path / "cpp.ckpt"
    subprocess.run([binary, "--preset", "ml-1m_clean", "--data", str(data), "--epochs", "2", "--eval-every", "2",
                    "--seed", "5", "--threads", "2", "--no-baselines", "--no-progress", "--report", str(report),
                    "--mean-type", mean_type, "--save", str(cpp_ckpt)], check=True, stdout=subprocess.DEVNULL)
    cpp = json.loads(report.read_text())["metrics"]

    train, valid, test = recdiff.datasets.diffrec_splits(data)
    m = recdiff.DiffRec(epochs=2, eval_every=2, seed=5, threads=2, mean_type=mean_type)
    assert m.hyperparameters()["mean_type"] == mean_type
    m.fit(train, validation=valid, show_progress=False)
    assert m.hyperparameters()["mean_type"] == mean_type
    py_valid = m.fit_result["best"]
    py_test = recdiff.evaluate(m, train, test, k=(10, 20, 50, 100), exclude=valid)
    for k in (10, 20, 50, 100):
        for name in ("recall", "ndcg"):
            assert py_test[f"{name}@{k}"] == pytest.approx(cpp[f"test.{name}@{k}"], rel=1e-12), (name, k)
    assert py_valid["valid.recall@20"] == pytest.approx(cpp["valid.recall@20"], rel=1e-12)

    # The C++ checkpoint in Python, and the Python one read back: same rankings as the Python-trained model.
    from_cpp = recdiff.load(cpp_ckpt)
    users = np.arange(train.shape[0])
    ids_py, scores_py = m.recommend(users, train, N=20)
    ids_cpp, scores_cpp = from_cpp.recommend(users, train, N=20)
    np.testing.assert_array_equal(ids_cpp, ids_py)
    np.testing.assert_array_equal(scores_cpp, scores_py)
    assert from_cpp.hyperparameters() == m.hyperparameters()

    # The Python checkpoint served by the C++ `recommend` tool (train and valid items filtered).
    tool = example_binary("recommend")
    py_ckpt = tmp_path / "py.ckpt"
    m.save(str(py_ckpt))
    for user in (3, 250):
        out = subprocess.run([tool, "--checkpoint", str(py_ckpt), "--data", str(data), "--user", str(user), "--k", "10"],
                             check=True, capture_output=True, text=True).stdout
        cpp_ids = [int(i) for i in re.findall(r"^\s+\d+\. item (\d+)\s", out, flags=re.M)]
        row = m.scores(train[user]).copy()[0]
        row[train[user].indices] = -np.inf
        row[valid[user].indices] = -np.inf
        assert cpp_ids == np.argsort(-row, kind="stable")[:10].tolist()


def test_ldiffrec_clusters_fit_and_checkpoint(small, tmp_path):
    train, test = small
    kw = dict(epochs=2, batch_size=32, steps=5, threads=1, in_dims=(24,), mlp_dims=(16,), n_cate=2)
    labels = np.arange(train.shape[1]) % 2
    m = recdiff.LDiffRec(**kw).fit(train, show_progress=False, item_clusters=labels)
    np.testing.assert_array_equal(m.item_clusters, labels)
    ids, _ = m.recommend(np.arange(4), train[:4], N=5)
    assert ids.shape == (4, 5)
    path = tmp_path / "ldiffrec.ckpt"
    m.save(str(path))
    loaded = recdiff.load(path)
    assert isinstance(loaded, recdiff.LDiffRec)
    np.testing.assert_array_equal(loaded.item_clusters, labels)
    assert recdiff.evaluate(loaded, train, test, k=5) == recdiff.evaluate(m, train, test, k=5)
    emb = np.random.default_rng(0).normal(size=(train.shape[1], 8))
    by_emb = recdiff.LDiffRec(**kw).fit(train, show_progress=False, item_embeddings=emb)
    assert sorted(set(by_emb.item_clusters.tolist())) == [0, 1]
    by_svd = recdiff.LDiffRec(**kw, svd_dims=8).fit(train, show_progress=False)
    assert sorted(set(by_svd.item_clusters.tolist())) == [0, 1]
    with pytest.raises(ValueError, match="item_clusters has 3 labels for 60 items"):
        recdiff.LDiffRec(**kw).fit(train, item_clusters=[0, 1, 0])
    with pytest.raises(ValueError, match="item_embeddings has 5 rows"):
        recdiff.LDiffRec(**kw).fit(train, item_embeddings=emb[:5])


def test_tdiffrec_checkpoint_needs_its_time_weights(small, tmp_path):
    train, test = small
    m = recdiff.TDiffRec(epochs=2, seed=2, w_min=0.3, w_max=0.9, **SMALL).fit(train, show_progress=False)
    path = tmp_path / "tdiffrec.ckpt"
    m.save(str(path))
    assert type(recdiff.load(str(path))) is recdiff.DiffRec  # the checkpoint does not record the weights
    loaded = recdiff.TDiffRec.load(str(path), w_min=0.3, w_max=0.9)
    assert type(loaded) is recdiff.TDiffRec
    np.testing.assert_array_equal(loaded.scores(train), m.scores(train))
    assert not np.array_equal(recdiff.TDiffRec.load(str(path), w_min=0.1, w_max=1.0).scores(train), m.scores(train))
    with pytest.raises(TypeError, match="w_min"):
        recdiff.TDiffRec.load(str(path))
    with pytest.raises(ValueError, match="need 0 < wMin <= wMax"):
        recdiff.TDiffRec.load(str(path), w_min=0.0, w_max=1.0)
    ease = tmp_path / "ease.ckpt"
    recdiff.EASE().fit(train).save(str(ease))
    with pytest.raises(ValueError, match="holds a 'EASE' checkpoint, not a DiffRec one"):
        recdiff.TDiffRec.load(str(ease), w_min=0.1, w_max=1.0)
    with pytest.raises(FileNotFoundError):
        recdiff.TDiffRec.load(str(tmp_path / "missing.ckpt"), w_min=0.1, w_max=1.0)


def test_evaluate_with_validation_is_both_rankings(small):
    train, test = small
    valid = test[:, :30]  # any disjoint split of train's shape
    valid = type(test)((valid.data, valid.indices, valid.indptr), shape=test.shape)
    rest = test - valid
    rest.eliminate_zeros()
    m = recdiff.DiffRec(epochs=2, seed=2, **SMALL).fit(train, show_progress=False)
    both = recdiff.evaluate(m, train, rest, k=(5, 10), validation=valid)
    assert set(both) == {f"{s}.{m_}@{k}" for s in ("valid", "test") for k in (5, 10)
                         for m_ in ("precision", "recall", "ndcg", "mrr", "hit_rate")}
    for key, value in recdiff.evaluate(m, train, valid, k=(5, 10)).items():
        assert both["valid." + key] == pytest.approx(value, rel=1e-12)
    for key, value in recdiff.evaluate(m, train, rest, k=(5, 10), exclude=valid).items():
        assert both["test." + key] == pytest.approx(value, rel=1e-12)
    with pytest.raises(TypeError, match="drop exclude="):
        recdiff.evaluate(m, train, rest, exclude=valid, validation=valid)
    with pytest.raises(TypeError, match="validation= is for DiffRec and TDiffRec, not EASE"):
        recdiff.evaluate(recdiff.EASE().fit(train), train, rest, validation=valid)


def test_mean_type_is_checked_and_kept_by_checkpoints(small, tmp_path):
    train, _ = small
    with pytest.raises(ValueError, match="mean_type"):
        recdiff.DiffRec(mean_type="v")
    eps = recdiff.DiffRec(epochs=2, seed=2, mean_type="eps", **SMALL).fit(train, show_progress=False)
    x0 = recdiff.DiffRec(epochs=2, seed=2, **SMALL).fit(train, show_progress=False)
    assert not np.array_equal(eps.scores(train), x0.scores(train))  # the parameterization is used
    path = tmp_path / "eps.ckpt"
    eps.save(str(path))
    for loaded in (recdiff.load(str(path)), recdiff.TDiffRec.load(str(path), w_min=1.0, w_max=1.0)):
        assert loaded.hyperparameters()["mean_type"] == "eps"
        np.testing.assert_array_equal(loaded.scores(train), eps.scores(train))
