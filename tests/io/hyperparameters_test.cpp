// Tests for include/recdiff/io/hyperparameters.hpp: typed reads of a checkpoint's hyperparameter map, and an
// error naming the reader, the key and the value for every malformed entry.
#include <recdiff/io/hyperparameters.hpp>

#include "support/catch.hpp"

using recdiff::io::HyperparameterReader;

TEST_CASE("HyperparameterReader reads numbers, counts, flags, choices, defaults and lists", "[io][hyperparameters]") {
  const std::map<std::string, std::string> m{{"lr", "0.001"},      {"steps", "40"},        {"reweight", "1"},
                                             {"norm", "0"},        {"mask", "keys"},       {"scale", "default"},
                                             {"beta", "2.5e-3"},   {"dims", "200,600"},    {"name", "linear-var"}};
  const HyperparameterReader r(m, "Model::load()");
  CHECK(r.number("lr") == 0.001);
  CHECK(r.count("steps") == 40);
  CHECK(r.flag("reweight"));
  CHECK_FALSE(r.flag("norm"));
  CHECK(r.oneOf("mask", "keys", "query_rows"));
  CHECK_FALSE(r.optionalNumber("scale").has_value());
  CHECK(r.optionalNumber("beta").value() == 2.5e-3);
  CHECK(r.indexList("dims") == std::vector<recdiff::Index>{200, 600});
  CHECK(r.text("name") == "linear-var");
}

TEST_CASE("HyperparameterReader names the reader, the key and the value of a bad entry", "[io][hyperparameters]") {
  const std::map<std::string, std::string> m{{"lr", "0.001x"}, {"steps", "4.5"}, {"neg", "-3"},     {"flag", "yes"},
                                             {"mask", "all"},  {"dims", "200,,600"}, {"dims2", "200,-6"}, {"empty", ""}};
  const HyperparameterReader r(m, "Model::load()");
  CHECK_THROWS_WITH(r.text("missing"), "Model::load(): no 'missing' entry");
  CHECK_THROWS_WITH(r.number("lr"), "Model::load(): 'lr' = '0.001x' is not a number");
  CHECK_THROWS_WITH(r.number("empty"), "Model::load(): 'empty' = '' is not a number");
  CHECK_THROWS_WITH(r.count("steps"), "Model::load(): 'steps' = '4.5' is not a whole number >= 0");
  CHECK_THROWS_WITH(r.count("neg"), "Model::load(): 'neg' = '-3' is not a whole number >= 0");
  CHECK_THROWS_WITH(r.flag("flag"), "Model::load(): 'flag' = 'yes' is neither '1' nor '0'");
  CHECK_THROWS_WITH(r.oneOf("mask", "keys", "query_rows"), "Model::load(): 'mask' = 'all' is neither 'keys' nor 'query_rows'");
  CHECK_THROWS_WITH(r.indexList("dims"), Catch::Contains("'dims' = '200,,600' is not a comma-separated list"));
  CHECK_THROWS_WITH(r.indexList("dims2"), Catch::Contains("'dims2' = '200,-6' is not a comma-separated list"));
  CHECK_THROWS_WITH(r.indexList("empty"), "Model::load(): 'empty' is empty");
  CHECK_THROWS_AS(r.number("lr"), std::invalid_argument);
}
