#!/usr/bin/env python3
"""DiffRec, T-DiffRec or L-DiffRec on DiffRec's ml-1m_clean splits with the authors' protocol: evaluate on
validation every 5 epochs, keep the best recall@20, stop 20 epochs after it; then the test metrics with train
and validation items masked. The same run as examples/diffrec_movielens (C++) with the same options and seed.

    PYTHONPATH=build/release/python /usr/bin/python3 examples/python/diffrec_movielens.py --epochs 50
"""

import os
import time

import numpy as np

import recdiff

from common import cutoffs, parser, print_table


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--model", choices=("diffrec", "tdiffrec", "ldiffrec"), default="diffrec")
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--save", help="write the best model's checkpoint here")
    args = p.parse_args()
    ks = cutoffs(args.topk)
    train, valid, test = recdiff.datasets.diffrec_splits(args.data)
    common = dict(epochs=args.epochs, seed=args.seed, threads=args.threads)
    fit = {}
    if args.model == "diffrec":
        model = recdiff.DiffRec(**common)
    elif args.model == "tdiffrec":
        model = recdiff.TDiffRec(w_min=0.1, w_max=1.0, **common)
    else:
        model = recdiff.LDiffRec(n_cate=2, **common)
        emb = os.path.join(args.data, "item_emb.npy")
        if os.path.exists(emb):
            fit["item_embeddings"] = np.load(emb)

    def progress(epoch, m):
        if "valid.recall@20" in m:
            print(f"epoch {epoch}: loss {m['loss']:.2f}, valid recall@20 {m['valid.recall@20']:.4f}")

    start = time.perf_counter()
    model.fit(train, validation=valid, callback=progress, **fit)
    r = model.fit_result
    print(f"{r['stop_reason']}; best epoch {r['best_epoch']}, {time.perf_counter() - start:.0f} s, "
          f"{np.median(r['seconds']):.2f} s per epoch")
    print_table({args.model: recdiff.evaluate(model, train, test, k=ks, exclude=valid)}, ks)
    if args.save:
        model.save(args.save)
        print(f"saved {args.save}")


if __name__ == "__main__":
    main()
