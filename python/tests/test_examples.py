"""The Python examples (examples/python) run end to end on a subset of ml-1m_clean and print their table."""

import os
import subprocess
import sys

from conftest import data_folder, subset_of_ml_1m_clean

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "python")


def run(script, *args):
    return subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *args], check=True, capture_output=True,
                          text=True, env=dict(os.environ)).stdout


def test_baselines_example(tmp_path):
    out = run("baselines_movielens.py", "--data", str(subset_of_ml_1m_clean(tmp_path)), "--topk", "10,20")
    lines = out.splitlines()
    assert lines[-5].split() == ["recall@10", "recall@20", "ndcg@10", "ndcg@20"]
    for name, row in zip(("MostPopular", "EASE(l2=1000)", "ItemKNN(k=100)", "RP3beta(beta=0.5)"), lines[-4:]):
        values = row.split()
        assert values[0] == name and all(0.0 < float(v) < 1.0 for v in values[1:]), row


def test_diffrec_example(tmp_path):
    ckpt = tmp_path / "best.ckpt"
    out = run("diffrec_movielens.py", "--data", str(subset_of_ml_1m_clean(tmp_path)), "--epochs", "2", "--topk", "20",
              "--save", str(ckpt))
    assert "best epoch 2" in out and ckpt.exists()
    assert out.splitlines()[-2].startswith("diffrec") and float(out.splitlines()[-2].split()[1]) > 0.0


def test_sequence_examples(tmp_path):
    folder = data_folder("diffurec", "ml-1m")
    tiny = ["--data", folder, "--threads", "2", "--test-users", "300", "--set", "hidden=16"]
    out = run("diffurec_movielens.py", *tiny, "--set", "blocks=1", "--set", "samples_per_epoch=2560",
              "--set", "valid_users=200", "--save", str(tmp_path / "diffurec.ckpt"))
    out2 = run("dreamrec_movielens.py", *tiny, "--epochs", "1", "--max-batches", "10", "--set", "steps=10")
    for text, name in ((out, "diffurec.ckpt"), (out2, None)):
        lines = text.splitlines()
        table = next(i for i, l in enumerate(lines) if l.split() == ["hr@10", "hr@20", "ndcg@10", "ndcg@20"])
        assert lines[table + 1].startswith("valid (best epoch)") and lines[table + 2].startswith("test")
        assert all(0.0 <= float(v) < 1.0 for v in lines[table + 2].split()[1:])
        assert "best epoch 1" in text
    import recdiff
    assert type(recdiff.load(tmp_path / "diffurec.ckpt")) is recdiff.DiffuRec
