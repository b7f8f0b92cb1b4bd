#ifndef RECDIFF_RECDIFF_HPP
#define RECDIFF_RECDIFF_HPP

/// \file recdiff.hpp
/// Umbrella header: includes every public module. Fine-grained headers (e.g. <recdiff/models/diffrec.hpp>)
/// may be included instead to keep compile times low.

#include "config.hpp"
#include "error.hpp"
#include "types.hpp"
#include "random/rng.hpp"
#include "concepts.hpp"
#include "parallel.hpp"

// diffusion process
#include "schedules.hpp"
#include "timesteps.hpp"
#include "diffusion.hpp"
#include "sampling.hpp"

// SIMD core
#include "simd/kernels.hpp"

// neural-network toolkit
#include "nn/parameters.hpp"
#include "nn/init.hpp"
#include "nn/gemm.hpp"
#include "nn/linear.hpp"
#include "nn/activations.hpp"
#include "nn/dropout.hpp"
#include "nn/softmax.hpp"
#include "nn/layer_norm.hpp"
#include "nn/embedding.hpp"
#include "nn/multi_head_attention.hpp"
#include "nn/feed_forward.hpp"
#include "nn/transformer_block.hpp"
#include "nn/sequential.hpp"
#include "nn/mse_loss.hpp"
#include "nn/cross_entropy.hpp"
#include "optim/optimizer.hpp"
#include "optim/adam_update.hpp"
#include "optim/fused_adam_update.hpp"
#include "optim/sgd_update.hpp"
#include "optim/clip_grad_norm.hpp"
#include "optim/decay/no_decay.hpp"
#include "optim/decay/step_decay.hpp"
#include "io/checkpoint.hpp"
#include "io/hyperparameters.hpp"

// denoisers and models
#include "denoisers/time_embedding.hpp"
#include "denoisers/diffrec_mlp.hpp"
#include "denoisers/diffurec_approximator.hpp"
#include "denoisers/dreamrec_encoder.hpp"
#include "denoisers/dreamrec_denoiser.hpp"
#include "train/diffusion_trainer.hpp"
#include "train/callbacks.hpp"
#include "train/trainer.hpp"
#include "models/diffrec.hpp"
#include "models/tdiffrec.hpp"
#include "cluster/kmeans.hpp"
#include "nn/autoencoder.hpp"
#include "cluster/svd_embeddings.hpp"
#include "models/ldiffrec.hpp"
#include "models/next_item_evaluation.hpp"
#include "models/diffurec.hpp"
#include "models/dreamrec.hpp"

// data and evaluation
#include "data/interactions.hpp"
#include "data/raw_interactions.hpp"
#include "data/movielens.hpp"
#include "data/delimited.hpp"
#include "data/npy.hpp"
#include "data/diffrec_splits.hpp"
#include "data/sequences.hpp"
#include "data/split.hpp"
#include "data/batching.hpp"
#include "metrics/topk.hpp"
#include "metrics/ranking.hpp"
#include "metrics/metric_table.hpp"

// baselines
#include "baselines/most_popular.hpp"
#include "baselines/item_knn.hpp"
#include "baselines/ease.hpp"
#include "baselines/rp3beta.hpp"
#include "baselines/evaluate.hpp"
#include "baselines/tuning.hpp"

#endif  // RECDIFF_RECDIFF_HPP
