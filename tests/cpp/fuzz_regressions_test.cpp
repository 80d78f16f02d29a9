// Replays every input kept in tests/fuzz/regressions/<target>/ through the same entry point the libFuzzer target
// uses (tests/fuzz/fuzz_targets.h), so a plain `ctest` re-checks every crash the fuzzers ever found and every
// hand-made hostile model file. Under scripts/sanitize.sh the replay runs with ASan + UBSan, which is where an
// out-of-bounds read that does not crash a plain build is caught.
//
// Files named reject-* (tests/fuzz/make_seeds.mjs writes them) must also be refused with a message: by
// SafeTensors::parse in regressions/safetensors, by EncoderModel::load in regressions/model.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "../fuzz/fuzz_targets.h"

namespace attn::fuzz {
namespace {

namespace fs = std::filesystem;

const fs::path kRegressions = fs::path(ATTN_SOURCE_DIR) / "tests" / "fuzz" / "regressions";

// Regular files directly under dir, sorted (no exceptions: the WASM test build has none).
std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2) && it->path().filename().string()[0] != '.') out.push_back(it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_bytes(const fs::path& path) {
  bool ok;
  std::string bytes = read_file(path.string(), &ok);
  EXPECT_TRUE(ok) << "cannot read " << path;
  return bytes;
}

const uint8_t* u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

bool is_reject(const fs::path& p) { return p.filename().string().rfind("reject-", 0) == 0; }

TEST(FuzzRegressions, EveryDirectoryIsATarget) {
  std::error_code ec;
  ASSERT_TRUE(fs::is_directory(kRegressions, ec)) << kRegressions;
  fs::directory_iterator it(kRegressions, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (!it->is_directory(ec2)) continue;
    EXPECT_NE(find_target(it->path().filename().string()), nullptr)
        << it->path() << " names no fuzz target (tests/fuzz/fuzz_targets.h)";
  }
}

class Replay : public ::testing::TestWithParam<const char*> {};

TEST_P(Replay, EveryKeptInputHoldsUp) {
  const std::string target = GetParam();
  const CheckFn check = find_target(target);
  ASSERT_NE(check, nullptr);
  size_t count = 0;
  for (const fs::path& file : files_in(kRegressions / target)) {
    SCOPED_TRACE(file.string());
    const std::string bytes = read_bytes(file);
    EXPECT_EQ(check(u8(bytes), bytes.size()), "");
    ++count;
  }
  std::printf("[ replayed ] %zu %s input(s)\n", count, target.c_str());
}

INSTANTIATE_TEST_SUITE_P(Targets, Replay,
                         ::testing::Values("safetensors", "json", "tokenizer", "model", "attention", "vocab", "shapes"),
                         [](const ::testing::TestParamInfo<const char*>& info) { return std::string(info.param); });

TEST(FuzzRegressions, HostileSafetensorsFilesAreRefused) {
  size_t count = 0;
  for (const fs::path& file : files_in(kRegressions / "safetensors")) {
    if (!is_reject(file)) continue;
    SCOPED_TRACE(file.string());
    // Exactly the file's bytes on the heap, so that ASan sees a read one past the end.
    const std::string bytes = read_bytes(file);
    std::vector<uint8_t> heap(bytes.begin(), bytes.end());
    SafeTensors parsed;
    std::string error;
    EXPECT_FALSE(SafeTensors::parse(heap.data(), heap.size(), &parsed, &error));
    EXPECT_EQ(error.rfind("safetensors: ", 0), 0u) << "error: '" << error << "'";
    ++count;
  }
  EXPECT_GE(count, 20u) << "the hand-made hostile files are missing (node tests/fuzz/make_seeds.mjs)";
}

TEST(FuzzRegressions, HostileModelFilesAreRefused) {
  size_t count = 0;
  for (const fs::path& file : files_in(kRegressions / "model")) {
    if (!is_reject(file)) continue;
    SCOPED_TRACE(file.string());
    const std::string bytes = read_bytes(file);
    std::vector<uint8_t> heap(bytes.begin(), bytes.end());
    EncoderModel model;
    std::string error;
    EXPECT_FALSE(model.load(heap.data(), heap.size(), &error));
    EXPECT_FALSE(error.empty());
    ++count;
  }
  EXPECT_GE(count, 10u) << "the hand-made hostile model files are missing (node tests/fuzz/make_seeds.mjs)";
}

// The seeds must be accepted: otherwise the fuzzers start from nothing but rejections.
TEST(FuzzRegressions, SeedModelsLoadAndRun) {
  const fs::path dir = fs::path(ATTN_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "model";
  size_t count = 0;
  for (const fs::path& file : files_in(dir)) {
    SCOPED_TRACE(file.string());
    const std::string bytes = read_bytes(file);
    EncoderModel model;
    std::string error;
    EXPECT_TRUE(model.load(u8(bytes), bytes.size(), &error)) << error;
    EXPECT_EQ(check_model(u8(bytes), bytes.size()), "");
    ++count;
  }
  EXPECT_GE(count, 1u);
}

}  // namespace
}  // namespace attn::fuzz
