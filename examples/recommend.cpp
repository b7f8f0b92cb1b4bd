// Serves a trained DiffRec checkpoint: prints a user's top-K movies with titles, and the history beside it.
//
//   diffrec_movielens --preset ml-100k --data data/ml-100k --save runs/ml-100k.ckpt
//   recommend --checkpoint runs/ml-100k.ckpt --data data/ml-100k --user 196 --k 10
//
// --user is the raw user id of the data (MovieLens UserID; for DiffRec's splits, the dense index). The input
// is the user's training row, as in evaluation; items of the training and validation splits are filtered.
#include <recdiff/models/diffrec.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "common/diffrec_run.hpp"

namespace {

std::string title(const recdiff::data::Interactions& x, recdiff::Index item) {
  const std::string id = "item " + std::to_string(x.itemIds().raw(item));
  if (x.itemTitles().empty()) return id;
  return x.itemTitle(item) + " (" + id + ")";
}

template <class Parameterization>
int serve(const recdiff::io::CheckpointInfo& info, const std::string& checkpoint, const recdiff::data::Split& data,
          std::int64_t rawUser, recdiff::Index k, recdiff::Index historyShown) {
  const auto [options, items] = recdiff::DiffRec<Parameterization>::optionsFromHyperparameters(info.hyperparameters);
  if (items != data.train.items())
    throw std::runtime_error("the checkpoint was trained on " + std::to_string(items) + " items but --data has " +
                             std::to_string(data.train.items()) + ": use the data it was trained on");
  recdiff::DiffRec<Parameterization> model(options, items);
  model.load(checkpoint);
  const auto found = data.train.userIds().find(rawUser);
  if (!found) throw std::out_of_range("user " + std::to_string(rawUser) + " is not in the data");
  const recdiff::Index user = *found;
  const std::vector<recdiff::Index> users{user};
  recdiff::Rng rng(1);
  const auto top = model.recommend(data.train, users, k, true, rng, {&data.valid.matrix()});

  const auto history = data.train.rowItems(user);
  std::printf("user %lld: %zu training interactions; most recent %lld:\n", static_cast<long long>(rawUser),
              history.size(), static_cast<long long>(std::min<recdiff::Index>(historyShown, static_cast<recdiff::Index>(history.size()))));
  for (recdiff::Index n = 0; n < historyShown && n < static_cast<recdiff::Index>(history.size()); ++n)
    std::printf("  - %s\n", title(data.train, history[history.size() - 1 - static_cast<std::size_t>(n)]).c_str());
  std::printf("top %lld recommendations:\n", static_cast<long long>(k));
  for (recdiff::Index c = 0; c < k; ++c) {
    const int item = top.ids(0, c);
    const bool inTest = data.test.contains(user, item);
    std::printf("  %2lld. %-60s score %.4f%s\n", static_cast<long long>(c + 1), title(data.train, item).c_str(),
                static_cast<double>(top.scores(0, c)), inTest ? "   <- in the user's test split" : "");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Print a user's top-K items from a DiffRec checkpoint, with titles and history"};
  std::string checkpoint, dataFolder;
  std::int64_t user = 0;
  recdiff::Index k = 10, historyShown = 10;
  double minRating = 4.0;
  app.add_option("--checkpoint", checkpoint, "a checkpoint written by diffrec_movielens --save")->required();
  app.add_option("--data", dataFolder, "the data the model was trained on (same as diffrec_movielens --data)")->required();
  app.add_option("--user", user, "raw user id")->required();
  app.add_option("--k", k, "recommendations to print")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--history", historyShown, "history items to print")->capture_default_str();
  app.add_option("--min-rating", minRating, "raw MovieLens: keep ratings >= this (as in training)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    const auto info = recdiff::io::readCheckpointInfo(checkpoint);
    if (info.modelType != "DiffRec") throw std::runtime_error(checkpoint + " holds a " + info.modelType + ", not a DiffRec");
    std::string description;
    const recdiff::data::Split data = recdiff::examples::loadDiffRecData(dataFolder, minRating, description);
    const auto meanType = info.hyperparameters.find("mean_type");
    if (meanType != info.hyperparameters.end() && meanType->second == "eps")
      return serve<recdiff::PredictEpsilon>(info, checkpoint, data, user, k, historyShown);
    return serve<recdiff::PredictX0>(info, checkpoint, data, user, k, historyShown);
  } catch (const std::exception& e) {
    std::cerr << "recommend: " << e.what() << "\n";
    return 1;
  }
}
