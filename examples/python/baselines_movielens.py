#!/usr/bin/env python3
"""EASE, ItemKNN, RP3beta and MostPopular on DiffRec's ml-1m_clean splits (MovieLens 1M, ratings >= 4), test
metrics with train and validation items masked (DiffRec's protocol).

    PYTHONPATH=build/release/python /usr/bin/python3 examples/python/baselines_movielens.py --data ../shared/data/diffrec/ml-1m_clean
"""

import time

import recdiff

from common import cutoffs, parser, print_table


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--l2", type=float, default=1000.0, help="EASE's L2 penalty")
    args = p.parse_args()
    ks = cutoffs(args.topk)
    train, valid, test = recdiff.datasets.diffrec_splits(args.data)
    print(f"{train.shape[0]} users, {train.shape[1]} items, {train.nnz} train interactions")
    models = {
        "MostPopular": recdiff.MostPopular(threads=args.threads),
        f"EASE(l2={args.l2:g})": recdiff.EASE(l2=args.l2, threads=args.threads),
        "ItemKNN(k=100)": recdiff.ItemKNN(k=100, shrink=10, threads=args.threads),
        "RP3beta(beta=0.5)": recdiff.RP3beta(alpha=1.0, beta=0.5, k=200, threads=args.threads),
    }
    rows = {}
    for name, model in models.items():
        start = time.perf_counter()
        model.fit(train)
        rows[name] = recdiff.evaluate(model, train, test, k=ks, exclude=valid)
        print(f"{name}: {time.perf_counter() - start:.1f} s")
    print_table(rows, ks)


if __name__ == "__main__":
    main()
