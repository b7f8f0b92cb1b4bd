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


def sequence_parser(description, program):
    """The sequential examples' command line: --data (DiffuRec's export or a raw MovieLens folder), --epochs,
    --seed, --threads, --test-users and --set key=value for any model keyword (e.g. --set hidden=32)."""
    p = argparse.ArgumentParser(description=description)
    here = os.path.dirname(os.path.abspath(__file__))
    p.add_argument("--data", default=os.path.join(here, "..", "..", "..", "shared", "data", "diffurec", "ml-1m"),
                   help="DiffuRec's export (sequences.txt) or a raw MovieLens release, as " + program + " --data")
    p.add_argument("--topk", default="10,20", help="cut-offs, comma separated")
    p.add_argument("--threads", type=int, default=0, help="OpenMP threads (0: all cores)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--test-users", type=int, default=0, help="test on the first N users only (0: all)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a model keyword (recdiff.<Model>.__doc__ lists them), repeatable")
    p.add_argument("--save", help="write the best model's checkpoint here")
    return p


def keywords(pairs):
    """--set key=value pairs as keyword arguments (numbers as numbers, the rest as text)."""
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        for cast in (int, float):
            try:
                out[key] = cast(value)
                break
            except ValueError:
                continue
        else:
            out[key] = value
    return out


def train_sequence_model(cls, defaults, args):
    """Fits `cls` on the leave-last-out split of --data with validation, prints the best epoch and the table of
    validation (the best epoch's) and test HR@K / NDCG@K, and saves the checkpoint when asked."""
    import time

    import numpy as np

    import recdiff

    ks = cutoffs(args.topk)
    data = recdiff.datasets.diffurec_sequences(args.data)
    print(data)
    model = cls(**{**defaults, "seed": args.seed, "threads": args.threads, **keywords(args.set)})

    def progress(epoch, m):
        valid = {k: v for k, v in m.items() if k.startswith("valid.")}
        print(f"epoch {epoch}: loss {m['mean_loss']:.4f}, {m['seconds']:.1f} s"
              + "".join(f", {k} {v:.4f}" for k, v in valid.items() if k.endswith("@10")), flush=True)

    start = time.perf_counter()
    model.fit(data.train, validation=data.valid, items=data.items, callback=progress, show_progress=False)
    r = model.fit_result
    print(f"{r['stop_reason']}; best epoch {r['best_epoch']}, {time.perf_counter() - start:.0f} s, "
          f"{np.median(r['seconds']):.1f} s per epoch")
    histories, targets = data.test
    if args.test_users > 0:
        histories, targets = histories[:args.test_users], targets[:args.test_users]
    test = recdiff.evaluate(model, histories, targets, k=ks)
    valid = {k[len("valid."):]: v for k, v in r["best"].items()}
    print_table({"valid (best epoch)": valid, "test": test}, [k for k in ks if f"hr@{k}" in valid] or ks,
                metrics=("hr", "ndcg"))
    if args.save:
        model.save(args.save)
        print(f"saved {args.save}")
