"""DiffuRec and DreamRec through Python: keywords, fit / recommend / scores / evaluate / save / load on small
random sequences, bad inputs, recdiff.datasets.diffurec_sequences, and parity with the C++ examples
(diffurec_movielens, dreamrec_movielens) on ML-1M with truncated epochs: the same options and seed give the same
metrics, and checkpoints cross between C++ and Python both ways."""

import json
import os
import subprocess

import numpy as np
import pytest

import recdiff

from conftest import data_folder, example_binary

SMALL = {
    "DiffuRec": dict(hidden=8, blocks=1, heads=2, steps=4, batch_size=32, epochs=2, threads=1),
    "DreamRec": dict(hidden=8, steps=5, batch_size=32, epochs=2, threads=1),
}
MODELS = [recdiff.DiffuRec, recdiff.DreamRec]


def random_sequences(users=40, items=30, seed=5):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, items, rng.integers(3, 12)) for _ in range(users)], items


def small_model(cls, **kw):
    return cls(**{**SMALL[cls.__name__], **kw})


@pytest.mark.parametrize("cls", MODELS)
def test_keywords_and_defaults(cls):
    h = cls().hyperparameters()
    if cls is recdiff.DiffuRec:
        assert (h["hidden_size"], h["num_blocks"], h["diffusion_steps"], h["batch_size"]) == ("128", "4", "32", "512")
        assert "epochs = 500" in cls.__doc__ and "metric = ndcg@10" in cls.__doc__
        assert cls(precision="float").hyperparameters()["inference_precision"] == "float"
    else:
        assert (h["hidden_factor"], h["timesteps"], h["w"], h["beta_sche"]) == ("64", "500", "2", "exp")
        assert "epochs = 100" in cls.__doc__ and "metric = hr@20" in cls.__doc__
    assert cls(hidden=16).hyperparameters()[("hidden_size" if cls is recdiff.DiffuRec else "hidden_factor")] == "16"
    with pytest.raises(TypeError, match="unknown keyword argument 'hiden'"):
        cls(hiden=3)
    with pytest.raises(ValueError, match="'batch_size' = 'x'"):
        cls(batch_size="x")
    with pytest.raises(ValueError, match="metric = 'hr' is not <name>@<K>"):
        cls(metric="hr")
    with pytest.raises(ValueError, match="eval_every and patience must be positive"):
        cls(eval_every=0)
    with pytest.raises(ValueError, match="batchSize"):  # the model's own check
        cls(batch_size=0)


@pytest.mark.parametrize("cls", MODELS)
def test_fit_recommend_evaluate_save_load(cls, tmp_path):
    seqs, items = random_sequences()
    seen = []
    m = small_model(cls, seed=2)
    assert m.fit(seqs, items=items, show_progress=False, callback=lambda e, d: seen.append(e)) is m
    assert seen == [1, 2] and m.items == items and m.fit_result["epochs"] == 2
    ids, scores = m.recommend(seqs[0], N=5)
    assert ids.shape == (5,) and scores.shape == (5,) and not ids.flags.writeable
    assert not set(ids.tolist()) & set(seqs[0].tolist())  # the history is filtered
    assert np.all(np.diff(scores) <= 0)
    ids2, scores2 = m.recommend(seqs[:4], N=5)
    assert ids2.shape == (4, 5)
    unfiltered, _ = m.recommend([seqs[0].tolist()], N=items, filter_already_liked_items=False)
    assert sorted(unfiltered[0].tolist()) == list(range(items))  # every id 0 ... items-1, never the padding
    s = m.scores(seqs[:4])
    assert s.shape == (4, items) and np.isfinite(s).all()
    # one draw per call and batch: scores() and recommend() of the same histories agree
    np.testing.assert_array_equal(np.take_along_axis(s, ids2.astype(np.int64), axis=1), scores2)
    np.testing.assert_array_equal(m.scores(seqs[0])[ids], scores)
    histories, targets = [q[:-1] for q in seqs], np.array([q[-1] for q in seqs])
    r = recdiff.evaluate(m, histories, targets, k=(5, 10))
    assert set(r) == {"hr@5", "ndcg@5", "hr@10", "ndcg@10"} and 0 <= r["ndcg@5"] <= r["hr@5"] <= r["hr@10"] <= 1
    ref = recdiff.evaluate(m, histories, targets, k=(5, 10), protocol="reference")
    assert set(ref) == set(r)
    again = small_model(cls, seed=2).fit(seqs, items=items, show_progress=False)
    np.testing.assert_array_equal(again.scores(seqs[:4]), s)  # one seed, one run
    other = small_model(cls, seed=3).fit(seqs, items=items, show_progress=False)
    assert not np.array_equal(other.scores(seqs[:4]), s)
    path = tmp_path / "model.ckpt"
    m.save(str(path))
    loaded = recdiff.load(path)
    assert type(loaded) is cls and loaded.items == items and loaded.seed == 1
    loaded.seed = 2
    np.testing.assert_array_equal(loaded.scores(seqs[:4]), s)
    assert recdiff.evaluate(loaded, histories, targets, k=(5, 10)) == r


@pytest.mark.parametrize("cls", MODELS)
def test_validation_early_stopping_and_empty_history(cls):
    seqs, items = random_sequences(users=60)
    valid = ([q[:-1] for q in seqs], np.array([q[-1] for q in seqs]))
    metric = "ndcg@10" if cls is recdiff.DiffuRec else "hr@20"
    evaluated = []
    m = small_model(cls, epochs=4, eval_every=2, patience=3, seed=1)
    m.fit(seqs, validation=valid, items=items, show_progress=False,
          callback=lambda e, d: evaluated.append(e) if "valid." + metric in d else None)
    assert evaluated == [2, 4] and m.fit_result["best_epoch"] in evaluated
    assert set(m.fit_result["best"]) >= {"valid.hr@10", "valid.ndcg@10", "valid.hr@20", "valid.ndcg@20"}
    ids, scores = m.recommend(np.array([], dtype=np.int64), N=3)  # no history yet: still ranked
    assert ids.shape == (3,) and np.isfinite(scores).all()


@pytest.mark.parametrize("cls", MODELS)
def test_bad_inputs(cls, tmp_path):
    seqs, items = random_sequences()
    m = small_model(cls)
    with pytest.raises(RuntimeError, match="not fitted"):
        m.recommend(seqs[0])
    with pytest.raises(TypeError, match="must be a list of 1-d arrays"):
        m.fit(np.stack([q[:3] for q in seqs]))
    with pytest.raises(ValueError, match=r"sequences\[1\]\[0\] = -1 is negative"):
        m.fit([seqs[0], np.array([-1, 2, 3])], show_progress=False)
    with pytest.raises(ValueError, match=r"sequences\[0\] must be a 1-d array of item ids, got a 2-d array"):
        m.fit([np.ones((2, 2), dtype=np.int64)], show_progress=False)
    with pytest.raises(TypeError, match=r"sequences\[0\]: item ids must be integers, got dtype float64"):
        m.fit([np.array([1.0, 2.0])], show_progress=False)
    with pytest.raises(ValueError, match=r"= 30 is not an item id in \[0, 30\)"):
        m.fit(seqs + [np.array([1, 30])], items=30, show_progress=False)
    with pytest.raises(ValueError, match="no items"):
        m.fit([], show_progress=False)
    with pytest.raises(ValueError, match="no training samples"):
        m.fit([np.array([3]), np.array([], dtype=np.int64)], show_progress=False)
    with pytest.raises(TypeError, match=r"validation must be a tuple \(histories, targets\)"):
        m.fit(seqs, validation=seqs, show_progress=False)
    m.fit(seqs, items=items, show_progress=False)
    with pytest.raises(ValueError, match=r"histories\[0\]\[1\] = 30 is not an item id in \[0, 30\)"):
        m.recommend([np.array([2, 30])])
    with pytest.raises(ValueError, match="no histories"):
        m.recommend([])
    with pytest.raises(ValueError, match="exceeds the 30 items"):
        m.recommend(seqs[0], N=31)
    with pytest.raises(ValueError, match="N must be positive"):
        m.recommend(seqs[0], N=0)
    with pytest.raises(ValueError, match="3 targets for 2 histories"):
        recdiff.evaluate(m, seqs[:2], np.array([1, 2, 3]))
    with pytest.raises(ValueError, match=r"targets\[0\] = -4 is negative"):
        recdiff.evaluate(m, seqs[:1], np.array([-4]))
    with pytest.raises(ValueError, match="protocol must be 'default' or 'reference'"):
        recdiff.evaluate(m, seqs[:2], np.array([1, 2]), protocol="mine")
    with pytest.raises(TypeError, match="exclude= and average= are for interaction models"):
        recdiff.evaluate(m, seqs[:2], np.array([1, 2]), average="with_test")
    with pytest.raises(FileNotFoundError, match="nothing.ckpt"):
        recdiff.load(tmp_path / "nothing.ckpt")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        recdiff.datasets.diffurec_sequences(tmp_path / "nowhere")


def test_diffurec_sequences_ml_1m():
    d = recdiff.datasets.diffurec_sequences(data_folder("diffurec", "ml-1m"))
    assert (len(d.sequences), d.items, sum(len(s) for s in d.sequences)) == (6040, 3706, 1000209)
    assert min(s.min() for s in d.sequences) == 0 and max(s.max() for s in d.sequences) == d.items - 1
    assert len(d.train) == 6040 and len(d.valid[0]) == len(d.test[0]) == len(d.test[1]) == 6040
    u = 17
    np.testing.assert_array_equal(np.concatenate([d.train[u], d.valid[1][u:u + 1], d.test[1][u:u + 1]]), d.sequences[u])
    np.testing.assert_array_equal(d.test[0][u], d.sequences[u][:-1])
    # the file's ids are these + 1
    with open(os.path.join(data_folder("diffurec", "ml-1m"), "sequences.txt")) as f:
        first = [int(x) for x in f.readline().split("\t")[1].split()]
    np.testing.assert_array_equal(d.sequences[0], np.array(first) - 1)


# The C++ examples and the same models in Python: truncated epochs, validation on a prefix of the users.
RUNS = {
    "DiffuRec": ("diffurec_movielens",
                 dict(hidden=16, blocks=1, batch_size=256, lr=0.005, item_init_std=0.25, epochs=2, eval_every=1,
                      max_batches_per_epoch=40, valid_users=500, threads=2, seed=3),
                 ["--hidden", "16", "--blocks", "1", "--batch-size", "256", "--lr", "0.005", "--item-init-std", "0.25",
                  "--valid-users", "500", "--final-users", "1000", "--max-batches-per-epoch", "40"], 1000),
    "DreamRec": ("dreamrec_movielens",
                 dict(hidden=16, steps=20, lr=0.005, epochs=2, eval_every=1, max_batches_per_epoch=30, threads=2,
                      seed=3),
                 ["--hidden", "16", "--steps", "20", "--lr", "0.005", "--max-batches-per-epoch", "30"], None),
}


def run_example(binary, folder, flags, tmp_path, name, extra):
    report = tmp_path / f"{name}.json"
    subprocess.run([binary, "--preset", "reference", "--data", folder, "--seed", "3", "--threads", "2", "--no-baselines",
                    "--no-progress", "--report", str(report)] + flags + extra, check=True, stdout=subprocess.DEVNULL)
    with open(report) as f:
        return json.load(f)


def close(python, cpp, prefix):
    for k, v in python.items():
        assert v == pytest.approx(cpp[prefix + k], rel=1e-12, abs=1e-15), prefix + k


@pytest.mark.parametrize("name", ["DiffuRec", "DreamRec"])
def test_parity_and_checkpoints_with_the_cpp_example(name, tmp_path):
    folder = data_folder("diffurec", "ml-1m")
    program, kw, flags, final_users = RUNS[name]
    binary = example_binary(program)
    cls = getattr(recdiff, name)
    cpp_ckpt, py_ckpt = tmp_path / "cpp.ckpt", tmp_path / "py.ckpt"
    cpp = run_example(binary, folder, flags, tmp_path, "train",
                      ["--epochs", "2", "--eval-every", "1", "--save", str(cpp_ckpt)])
    d = recdiff.datasets.diffurec_sequences(folder)
    test = (d.test[0][:final_users], d.test[1][:final_users]) if final_users else d.test
    m = cls(**kw).fit(d.train, validation=d.valid, items=d.items, show_progress=False)
    assert m.fit_result["best_epoch"] == cpp["best_epoch"] and m.fit_result["epochs"] == cpp["epochs_run"]
    mine = recdiff.evaluate(m, *test, k=(5, 10, 20) if name == "DiffuRec" else (10, 20))
    assert mine["hr@20"] > 0  # the comparison below is not between zeros only
    close(mine, cpp, "test.")
    if name == "DiffuRec":
        close(recdiff.evaluate(m, *test, k=(5, 10, 20), protocol="reference"), cpp, "reference.test.")
    else:
        close({k[len("valid."):]: v for k, v in m.fit_result["best"].items()}, cpp, "valid.")
    # the C++ checkpoint in Python: the same test table with the run's seed
    loaded = recdiff.load(cpp_ckpt)
    loaded.seed = 3
    assert recdiff.evaluate(loaded, *test, k=(10, 20)) == {k: v for k, v in mine.items() if k.endswith(("@10", "@20"))}
    # the Python checkpoint in C++: --load, no training, the same test table
    m.save(str(py_ckpt))
    served = run_example(binary, folder, flags, tmp_path, "served", ["--epochs", "0", "--load", str(py_ckpt)])
    close(mine, served, "test.")
