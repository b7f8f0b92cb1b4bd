// Loaders: the hand-written fixtures load as expected, and every malformed input fails with a DataError naming
// the file, the line and the offending text (or is handled in the documented way).
#include <cstring>
#include <functional>
#include <string>

#include <recdiff/data/diffrec_splits.hpp>
#include <recdiff/data/movielens.hpp>
#include <recdiff/data/sequences.hpp>

#include "support/catch.hpp"
#include "data_errors.hpp"
#include "temp_files.hpp"

namespace rd = recdiff::data;
using recdiff::DataError;
using recdiff::Index;

using recdiff::test::requireDataError;

namespace {

rd::RawInteractions parse100k(const std::string& text) { return rd::parseMovieLens100kRatings(text, "u.data"); }

}  // namespace

TEST_CASE("The MovieLens 100K fixture loads with Latin-1 titles decoded to UTF-8", "[data][movielens]") {
  const auto x = rd::loadMovieLens(recdiff::test::fixtures() / "ml-100k-tiny");
  CHECK(x.users() == 3);
  CHECK(x.items() == 3);
  CHECK(x.nnz() == 7);
  CHECK(x.itemTitle(x.itemIds().dense(10)) == "Caf\xc3\xa9 Society (1995)");
  CHECK(x.itemTitle(x.itemIds().dense(30)) == "Na\xc3\xafve (1997)");
  // User 2 (dense 1) rated 30 before 10: stored order is chronological, the CSR row is sorted.
  const auto row = x.rowItems(1);
  REQUIRE(row.size() == 2);
  CHECK(x.itemIds().raw(row[0]) == 30);
  CHECK(x.itemIds().raw(row[1]) == 10);
  CHECK(x.matrix().innerIndexPtr()[x.matrix().outerIndexPtr()[1]] == x.itemIds().dense(10));
  CHECK(x.rowRatings(1)[0] == 1.0f);
  // Implicit feedback: ratings >= 4 only, values 1; ratings kept as values on request.
  const auto implicit = rd::loadMovieLens(recdiff::test::fixtures() / "ml-100k-tiny", {.minRating = 4.0});
  CHECK(implicit.nnz() == 4);
  const auto rated = rd::loadMovieLens(recdiff::test::fixtures() / "ml-100k-tiny", {.values = rd::ValueKind::Ratings});
  CHECK(rated.matrix().sum() == Approx(5 + 3 + 4 + 1 + 4 + 5 + 2));
}

TEST_CASE("The MovieLens 1M and CSV fixtures load with their titles", "[data][movielens]") {
  const auto one = rd::loadMovieLens(recdiff::test::fixtures() / "ml-1m-tiny");
  CHECK(rd::detectMovieLens(recdiff::test::fixtures() / "ml-1m-tiny")->release == rd::MovieLensRelease::Ml1m);
  CHECK(one.users() == 2);
  CHECK(one.items() == 3);
  CHECK(one.nnz() == 4);
  CHECK(one.itemTitle(one.itemIds().dense(100)) == "P\xc3\xa2t\xc3\xa9 (2000)");
  const auto csv = rd::loadMovieLens(recdiff::test::fixtures() / "ml-csv-tiny");
  CHECK(rd::detectMovieLens(recdiff::test::fixtures() / "ml-csv-tiny")->release == rd::MovieLensRelease::Csv);
  CHECK(csv.nnz() == 3);
  CHECK(csv.rowRatings(0)[0] == 4.5f);  // item 3 was rated first (chronological stored order)
  CHECK(csv.itemIds().raw(csv.rowItems(0)[0]) == 3);
  CHECK(csv.itemTitle(csv.itemIds().dense(1)) == "American President, The (1995)");
  CHECK(csv.itemTitle(csv.itemIds().dense(3)) == "Say \"Hello\" (1999)");
}

TEST_CASE("CRLF line ends load exactly like LF", "[data][movielens]") {
  const auto crlf = rd::readMovieLens(recdiff::test::fixtures() / "crlf");
  const auto lf = parse100k("1\t10\t5\t881250949\n1\t20\t3\t881250950\n2\t10\t4\t881250960\n");
  CHECK(crlf.users == lf.users);
  CHECK(crlf.items == lf.items);
  CHECK(crlf.ratings == lf.ratings);
  CHECK(crlf.timestamps == lf.timestamps);
  // Missing final newline and blank lines are fine; a UTF-8 BOM is skipped.
  CHECK(parse100k("\xEF\xBB\xBF" "1\t2\t3\t4\n\n5\t6\t7\t8").size() == 2);
}

TEST_CASE("A wrong field count names the file the line and the text", "[data][malformed]") {
  requireDataError([] { parse100k("1\t2\t3\t4\n1\t2\t3\n"); }, 2, "expected 4 fields", "u.data");
  requireDataError([] { parse100k("1\t2\t3\t4\t5\n"); }, 1, "'1\\t2\\t3\\t4\\t5'");
  requireDataError([] { rd::parseMovieLensDatRatings("1::2::3\n", "ratings.dat"); }, 1, "got 3", "ratings.dat");
  requireDataError([] { rd::parseMovieLens100kTitles("1|Title|x\n", "u.item"); }, 1, "expected 24 fields");
  requireDataError([] { rd::parseMovieLensDatTitles("1::Title\n", "movies.dat"); }, 1, "expected 3 fields");
  requireDataError([] { rd::parseDelimited("1,2\n1,2,3\n", "x.csv"); }, 2, "expected 2 fields");
  requireDataError([] { rd::parseDelimited("1\n", "x.csv"); }, 1, "expected 2 to 4 fields");
}

TEST_CASE("Non-numeric fields are rejected with the field named", "[data][malformed]") {
  requireDataError([] { parse100k("1\t2\t3\t4\nx\t2\t3\t4\n"); }, 2, "non-numeric user id 'x'");
  requireDataError([] { parse100k("1\t2b\t3\t4\n"); }, 1, "non-numeric item id '2b'");
  requireDataError([] { parse100k("1\t2\tfive\t4\n"); }, 1, "non-numeric rating 'five'");
  requireDataError([] { parse100k("1\t2\t3\t4.5\n"); }, 1, "non-numeric timestamp '4.5'");
  requireDataError([] { parse100k("1\t2\tnan\t4\n"); }, 1, "rating 'nan' is not a finite number");
  requireDataError([] { parse100k("1\t\t3\t4\n"); }, 1, "non-numeric item id ''");
  requireDataError([] { parse100k(" 1\t2\t3\t4\n"); }, 1, "non-numeric user id ' 1'");
  requireDataError([] { parse100k("+1\t2\t3\t4\n"); }, 1, "non-numeric user id '+1'");
}

TEST_CASE("Negative and overflowing ids are rejected", "[data][malformed]") {
  requireDataError([] { parse100k("-1\t2\t3\t4\n"); }, 1, "user id -1 outside [0, ");
  requireDataError([] { parse100k("1\t-2\t3\t4\n"); }, 1, "item id -2 outside");
  requireDataError([] { parse100k("99999999999999999999\t2\t3\t4\n"); }, 1, "user id '99999999999999999999' overflows");
  requireDataError([] { parse100k("1\t2\t3\t99999999999999999999\n"); }, 1, "timestamp '99999999999999999999' overflows");
  requireDataError([] { parse100k("1\t2\t1e99\t4\n"); }, 1, "rating out of float range");
  requireDataError([] { rd::parseSequences("0\t1 2 3000000000\n", "sequences.txt"); }, 1, "item id '3000000000' overflows");
}

TEST_CASE("An empty file is an error and never an empty result", "[data][malformed]") {
  requireDataError([] { parse100k(""); }, 0, "no data lines", "u.data");
  requireDataError([] { parse100k("\n\r\n\n"); }, 0, "no data lines");
  requireDataError([] { rd::parseMovieLensCsvRatings("userId,movieId,rating,timestamp\n", "ratings.csv"); }, 0, "no data lines");
  requireDataError([] { rd::parseSequences("", "sequences.txt"); }, 0, "no data lines");
  requireDataError([] { rd::parseDelimited("a,b\n", "x.csv", {.header = true}); }, 0, "no data lines");
  requireDataError([] { parse100k("1\t2\t3\t4\n \t\n"); }, 2, "blank line with whitespace");
  recdiff::test::TempDir dir;
  const auto path = dir.write("empty.data", "");
  requireDataError([&] { rd::readDelimited(path, {.separator = "\t"}); }, 0, "no data lines", path);
  requireDataError([&] { rd::readDelimited((dir.path() / "missing.csv").string()); }, 0, "cannot open file");
}

TEST_CASE("A header where none is expected is rejected and a missing header too", "[data][malformed]") {
  requireDataError([] { parse100k("user_id\titem_id\trating\ttimestamp\n1\t2\t3\t4\n"); }, 1, "non-numeric user id 'user_id'");
  requireDataError([] { rd::parseDelimited("user,item\n1,2\n", "x.csv"); }, 1, "non-numeric user id 'user'");
  CHECK(rd::parseDelimited("user,item\n1,2\n", "x.csv", {.header = true}).size() == 1);
  requireDataError([] { rd::parseMovieLensCsvRatings("1,2,3.5,4\n", "ratings.csv"); }, 1, "expected the header");
  requireDataError([] { rd::parseMovieLensCsvTitles("1,Title,Drama\n", "movies.csv"); }, 1, "expected the header");
}

TEST_CASE("Quoted CSV titles unescape and bad quoting is rejected", "[data][malformed]") {
  const std::string header = "movieId,title,genres\n";
  const auto t = rd::parseMovieLensCsvTitles(header + "7,\"A, \"\"B\"\"\",Drama\n8,\"\",Drama\n", "movies.csv");
  CHECK(t.at(7) == "A, \"B\"");
  CHECK(t.at(8).empty());
  requireDataError([&] { rd::parseMovieLensCsvTitles(header + "7,\"Open,Drama\n", "movies.csv"); }, 2, "unterminated quoted field");
  requireDataError([&] { rd::parseMovieLensCsvTitles(header + "7,\"A\"x,Drama\n", "movies.csv"); }, 2, "text after a closing quote");
  requireDataError([&] { rd::parseMovieLensCsvTitles(header + "7,A\"B,Drama\n", "movies.csv"); }, 2, "quote inside an unquoted field");
  requireDataError([&] { rd::parseMovieLensCsvTitles(header + "7,A,B,Drama\n", "movies.csv"); }, 2, "expected 3 fields");
  // Quoted delimited interactions.
  const auto raw = rd::parseDelimited("\"1\",\"2\",\"3.5\"\n", "q.csv", {.quoted = true});
  CHECK(raw.ratings.at(0) == 3.5f);
}

TEST_CASE("Latin-1 titles are decoded and invalid UTF-8 follows the chosen encoding", "[data][malformed]") {
  const std::string line = "1|Se\xf1or (1990)|x||u|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0\n";
  CHECK(rd::parseMovieLens100kTitles(line, "u.item").at(1) == "Se\xc3\xb1or (1990)");
  requireDataError([&] { rd::parseMovieLens100kTitles(line, "u.item", rd::TextEncoding::Utf8); }, 1, "invalid UTF-8");
  // Auto keeps valid UTF-8 as it is and decodes anything else as Latin-1.
  const std::string header = "movieId,title,genres\n";
  CHECK(rd::parseMovieLensCsvTitles(header + "1,Se\xc3\xb1or,x\n", "m.csv").at(1) == "Se\xc3\xb1or");
  CHECK(rd::parseMovieLensCsvTitles(header + "1,Se\xf1or,x\n", "m.csv").at(1) == "Se\xc3\xb1or");
  CHECK(rd::detail::isValidUtf8("\xe2\x82\xac"));
  CHECK_FALSE(rd::detail::isValidUtf8("\xc0\xaf"));      // overlong
  CHECK_FALSE(rd::detail::isValidUtf8("\xed\xa0\x80"));  // surrogate
  CHECK_FALSE(rd::detail::isValidUtf8("\xe2\x82"));      // truncated
}

TEST_CASE("Duplicate pairs follow the stated rule", "[data][duplicates]") {
  // user 1 rates item 2 at t=5 then again at t=9 (file order reversed).
  const auto raw = parse100k("1\t2\t4\t9\n1\t3\t1\t7\n1\t2\t2\t5\n");
  const auto last = rd::buildInteractions(raw, {.values = rd::ValueKind::Ratings});
  REQUIRE(last.nnz() == 2);
  CHECK(last.itemIds().raw(last.rowItems(0)[1]) == 2);  // the later (t=9) occurrence, at its position
  CHECK(last.rowRatings(0)[1] == 4.0f);
  const auto first = rd::buildInteractions(raw, {.duplicates = rd::DuplicateRule::KeepFirst});
  CHECK(first.itemIds().raw(first.rowItems(0)[0]) == 2);
  CHECK(first.rowRatings(0)[0] == 2.0f);
  CHECK(first.rowTimestamps(0)[0] == 5);
  const auto sum = rd::buildInteractions(raw, {.duplicates = rd::DuplicateRule::Sum});
  CHECK(sum.matrix().coeff(0, sum.itemIds().dense(2)) == 2.0f);
  requireDataError([&] { rd::buildInteractions(raw, {.duplicates = rd::DuplicateRule::Error}); }, 3, "duplicate (user, item) pair (1, 2), first on line 1");
}

TEST_CASE("k-core filtering iterates to a fixed point and keeps raw ids and titles", "[data][kcore]") {
  // Users 1, 2 share items 10 and 20; user 3 has one item (30) which only it rated.
  const auto raw = parse100k("1\t10\t5\t1\n1\t20\t5\t2\n2\t10\t5\t3\n2\t20\t5\t4\n3\t30\t5\t5\n3\t10\t5\t6\n");
  const auto x = rd::buildInteractions(raw, {.minUserInteractions = 2, .minItemInteractions = 2});
  CHECK(x.items() == 2);  // item 30 goes (1 rating)...
  CHECK(x.users() == 2);  // ...then user 3 has 1 interaction left and goes too
  CHECK(x.nnz() == 4);
  CHECK(x.userIds().raw(1) == 2);
  CHECK(x.itemIds().raw(1) == 20);
  CHECK(x.hasTimestamps());
}

TEST_CASE("A folder without MovieLens files is reported", "[data][malformed]") {
  recdiff::test::TempDir dir;
  CHECK_FALSE(rd::detectMovieLens(dir.path()));
  requireDataError([&] { rd::readMovieLens(dir.path()); }, 0, "no MovieLens release found");
  dir.write("ratings.partial-users0001-0002.dat", "1::2::3::4\n");
  dir.write("users.dat", "1::F::1::10::48067\n");
  const auto files = rd::detectMovieLens(dir.path());
  REQUIRE(files);
  CHECK(files->partial);
  CHECK(rd::loadMovieLens(dir.path()).nnz() == 1);
  // A malformed file inside a folder is named with its path.
  dir.write("ratings.dat", "1::2::3::4\n1::x::3::4\n");
  requireDataError([&] { rd::readMovieLens(dir.path()); }, 2, "non-numeric item id 'x'", (dir.path() / "ratings.dat").string());
}

TEST_CASE("DiffuRec sequences parse and malformed lines are rejected", "[data][sequences][malformed]") {
  const auto s = rd::parseSequences("5\t3 1 2\n7\t4\n", "sequences.txt");
  CHECK(s.users() == 2);
  CHECK(s.userIds().raw(1) == 7);
  CHECK(s.sequence(0)[0] == 3);
  CHECK(s.maxItem() == 4);
  requireDataError([] { rd::parseSequences("0\t1 0 2\n", "sequences.txt"); }, 1, "item id 0 outside [1, ");
  requireDataError([] { rd::parseSequences("0\t1 2\n0\t3\n", "sequences.txt"); }, 2, "user 0 appears twice");
  requireDataError([] { rd::parseSequences("0\t\n", "sequences.txt"); }, 1, "empty sequence");
  requireDataError([] { rd::parseSequences("0\t1  2\n", "sequences.txt"); }, 1, "non-numeric item id ''");
  requireDataError([] { rd::parseSequences("0 1 2\n", "sequences.txt"); }, 1, "expected 'user<TAB>items'");
}
