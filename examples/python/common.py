"""Shared by the Python examples: the command line (data folder, cut-offs) and the metric table."""

import argparse
import os


def parser(description):
    p = argparse.ArgumentParser(description=description)
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--data", default=os.path.join(here, "..", "..", "..", "shared", "data", "diffrec", "ml-1m_clean"),
                   help="a folder with DiffRec's splits (train_list.npy, valid_list.npy, test_list.npy)")
    p.add_argument("--topk", default="10,20,50,100", help="cut-offs, comma separated")
    p.add_argument("--threads", type=int, default=0, help="OpenMP threads (0: all cores)")
    return p


def cutoffs(text):
    return tuple(int(k) for k in text.split(","))


def print_table(rows, ks, metrics=("recall", "ndcg")):
    """rows: name -> metrics dict of recdiff.evaluate (keys like "recall@20")."""
    columns = [f"{m}@{k}" for m in metrics for k in ks]
    width = max(len(name) for name in rows) + 2
    print("".ljust(width) + "".join(c.rjust(12) for c in columns))
    for name, values in rows.items():
        print(name.ljust(width) + "".join(f"{values[c]:12.4f}" for c in columns))
