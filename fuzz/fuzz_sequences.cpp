// Fuzz target: DiffuRec's sequences.txt parser, leave-last-out and padding of every sample.
#include <recdiff/data/sequences.hpp>

#include "fuzz_text_loaders.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return fuzzOne(data, size, [](std::string_view text) {
    namespace rd = recdiff::data;
    const auto seq = rd::parseSequences(text, "sequences.txt");
    if (seq.users() > 64 || seq.totalLength() > 4096) return;  // keep the sample expansion small
    const auto split = rd::leaveLastOut(seq);
    const auto samples = rd::prefixSamples(split.train);
    std::vector<recdiff::Index> rows(static_cast<std::size_t>(samples.size()));
    for (std::size_t k = 0; k < rows.size(); ++k) rows[k] = static_cast<recdiff::Index>(k);
    rd::HistoryBatch batch;
    rd::fillHistoryBatch(split.train, samples, rows, {.maxLen = 3}, batch);
    rows.resize(static_cast<std::size_t>(split.test.size()));
    for (std::size_t k = 0; k < rows.size(); ++k) rows[k] = static_cast<recdiff::Index>(k);
    rd::fillHistoryBatch(seq, split.test, rows, {.maxLen = 4, .side = rd::Padding::Right, .padId = seq.maxItem() + 1}, batch);
  });
}
