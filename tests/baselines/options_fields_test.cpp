// The baselines' option field tables (the Python keywords, io/fields.hpp) against their checkpoint
// hyperparameters(): the checkpointed fields are exactly the hyperparameters' keys, with the same text, and
// reading the text back through the table gives the options again.
#include <recdiff/baselines/ease.hpp>
#include <recdiff/baselines/item_knn.hpp>
#include <recdiff/baselines/rp3beta.hpp>

#include <map>
#include <string>

#include "support/catch.hpp"

using namespace recdiff;

TEST_CASE("baseline options: the field tables are the checkpoint hyperparameters", "[baselines][fields]") {
  SECTION("EASE") {
    const baselines::EASEOptions o{.lambda = 123.5, .solver = baselines::EASESolver::ldlt, .memoryLimitBytes = 7};
    const baselines::EASE<float> m(o);
    CHECK(io::fieldsToText(o) == m.hyperparameters());
    const auto back = io::fieldsFromText<baselines::EASEOptions>(m.hyperparameters(), "test");
    CHECK(back.lambda == 123.5);
    CHECK(back.solver == baselines::EASESolver::ldlt);
    CHECK(back.memoryLimitBytes == 0);  // an execution setting: not checkpointed
    CHECK(io::fieldsToText(o, io::FieldSelection::kAll).at("memory_limit_bytes") == "7");
  }
  SECTION("ItemKNN") {
    const baselines::ItemKNNOptions o{.neighbours = 7, .shrink = 2.5, .normalizeNeighbours = true};
    CHECK(io::fieldsToText(o) == baselines::ItemKNN<float>(o).hyperparameters());
    const auto back = io::fieldsFromText<baselines::ItemKNNOptions>(io::fieldsToText(o), "test");
    CHECK((back.neighbours == 7 && back.shrink == 2.5 && back.normalizeNeighbours));
  }
  SECTION("RP3beta") {
    const baselines::RP3betaOptions o{.alpha = 0.75, .beta = 0.25, .neighbours = 9, .normalizeRows = true};
    CHECK(io::fieldsToText(o) == baselines::RP3beta<float>(o).hyperparameters());
    const auto back = io::fieldsFromText<baselines::RP3betaOptions>(io::fieldsToText(o), "test");
    CHECK((back.alpha == 0.75 && back.beta == 0.25 && back.neighbours == 9 && back.normalizeRows));
  }
  SECTION("a bad value names the field") {
    CHECK_THROWS_WITH(io::fieldsFromText<baselines::EASEOptions>({{"lambda", "x"}, {"solver", "llt"}}, "EASE"),
                      "EASE: 'lambda' = 'x' is not a number");
    CHECK_THROWS_WITH(io::fieldsFromText<baselines::EASEOptions>({{"lambda", "1"}, {"solver", "qr"}}, "EASE"),
                      "EASE: 'solver' = 'qr' is not one of llt | ldlt");
  }
}
