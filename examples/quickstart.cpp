// The README's quickstart: DiffRec on a small synthetic data set — fit, recommend, evaluate.
#include <recdiff/data/split.hpp>
#include <recdiff/models/diffrec.hpp>

#include <iostream>
#include <vector>

int main() {
  // 300 users in 3 taste groups over 90 items: group g likes items 30g .. 30g+29 (half of them, at random).
  recdiff::Rng rng(1);
  std::vector<int> users, items;
  for (int u = 0; u < 300; ++u)
    for (int i = 30 * (u % 3); i < 30 * (u % 3 + 1); ++i)
      if (rng.uniform() < 0.5) users.push_back(u), items.push_back(i);
  const auto all = recdiff::data::Interactions::fromTriplets(300, 90, users, items);
  const auto split = recdiff::data::randomSplit(all, {0.7, 0.1, 0.2}, rng);  // per user, seeded

  recdiff::DiffRecOptions options;  // DiffRec's ml-1m_clean settings, scaled down:
  options.dims = {64};
  options.batchSize = 64;
  recdiff::DiffRec<> model(options, all.items(), /*seed=*/1);
  for (int epoch = 0; epoch < 30; ++epoch) model.trainEpoch(split.train, rng);

  const std::vector<recdiff::Index> who = {0, 1, 2};
  const auto top = model.recommend(split.train, who, 5, /*filterSeen=*/true, rng);
  for (int r = 0; r < 3; ++r) std::cout << "user " << who[r] << ": " << top.ids.row(r) << '\n';

  const std::vector<recdiff::Index> ks = {5, 10};
  model.evaluate(split.train, split.valid, split.test, ks, rng).print(std::cout);
}
