// Shared fixtures of the DiffuRec model tests (diffurec_model_test, diffurec_bf16_test, diffurec_tiles_test):
// the cycle toy data and a tiny model configuration.
#ifndef RECDIFF_TESTS_MODELS_DIFFUREC_TOY_HPP
#define RECDIFF_TESTS_MODELS_DIFFUREC_TOY_HPP

#include <vector>

#include <recdiff/models/diffurec.hpp>

namespace recdiff::test {

/// 40 users walking a cycle over 12 items from different starting points (10–14 items each): the next item is
/// determined by the last one, so a model that learns anything ranks it first.
inline recdiff::data::Sequences diffuRecCycleSequences() {
  std::vector<std::vector<int>> lists;
  for (int u = 0; u < 40; ++u) {
    std::vector<int> seq;
    for (int j = 0; j < 10 + u % 5; ++j) seq.push_back(1 + (u + j) % 12);
    lists.push_back(seq);
  }
  return recdiff::data::Sequences::fromLists(lists);
}

/// H 16, 2 blocks of 2 heads, histories of 6, T 8, batch 32, lr 5e-3, dropout and embedding dropout 0.1.
inline recdiff::DiffuRecOptions tinyDiffuRecOptions() {
  recdiff::DiffuRecOptions o;
  o.hidden = 16;
  o.blocks = 2;
  o.heads = 2;
  o.maxLength = 6;
  o.steps = 8;
  o.batchSize = 32;
  o.learningRate = 5e-3;
  o.dropout = 0.1;
  o.embeddingDropout = 0.1;
  return o;
}

}  // namespace recdiff::test

#endif  // RECDIFF_TESTS_MODELS_DIFFUREC_TOY_HPP
