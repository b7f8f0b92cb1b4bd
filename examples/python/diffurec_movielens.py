#!/usr/bin/env python3
"""DiffuRec on MovieLens sequences (DiffuRec's ML-1M export by default): every prefix of each user's training
part is a sample, validation on the second to last item selects the epoch (NDCG@10), the last item is the test.
The default run is short (the C++ example's `cpu` preset on one epoch of 100,000 samples; 4.6 minutes wall,
2.4 CPU minutes on 2 shared cores: test HR@10 0.044); `--epochs 5 --set samples_per_epoch=250000` is the
preset's whole budget, and the same options and seed give the numbers of examples/diffurec_movielens --preset cpu.

    PYTHONPATH=build/release/python /usr/bin/python3 examples/python/diffurec_movielens.py --threads 2
"""

import recdiff

from common import sequence_parser, train_sequence_model

# diffurec_movielens --preset cpu (its applyPreset())
CPU = dict(hidden=64, blocks=2, item_init_std=0.125, batch_size=256, samples_per_epoch=100000, decay_step=4,
           gamma=0.3, eval_every=1, patience=2, valid_users=1000)


def main():
    p = sequence_parser(__doc__.splitlines()[0], "diffurec_movielens")
    p.add_argument("--epochs", type=int, default=1)
    args = p.parse_args()
    train_sequence_model(recdiff.DiffuRec, {**CPU, "epochs": args.epochs}, args)


if __name__ == "__main__":
    main()
