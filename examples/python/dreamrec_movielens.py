#!/usr/bin/env python3
"""DreamRec on MovieLens sequences (DiffuRec's ML-1M export by default) with the authors' hyperparameters: every
prefix of each user's training part is a sample, validation on the second to last item selects the epoch
(HR@20), the last item is the test. The default run is short (3 epochs of 400 batches, validated once; a few
minutes on 2 cores, most of them the 500 guided reverse steps per user of the two evaluations). With
`--max-batches 0 --epochs 100 --set eval_every=5` it is examples/dreamrec_movielens --preset reference (same seed:
same numbers).

    PYTHONPATH=build/release/python /usr/bin/python3 examples/python/dreamrec_movielens.py --threads 2
"""

import recdiff

from common import sequence_parser, train_sequence_model


def main():
    p = sequence_parser(__doc__.splitlines()[0], "dreamrec_movielens")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-batches", type=int, default=400, help="batches per epoch at most (0: every sample)")
    args = p.parse_args()
    defaults = dict(epochs=args.epochs, eval_every=args.epochs, max_batches_per_epoch=args.max_batches)
    train_sequence_model(recdiff.DreamRec, defaults, args)


if __name__ == "__main__":
    main()
