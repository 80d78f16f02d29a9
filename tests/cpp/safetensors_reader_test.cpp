// The safetensors reader: a valid file reads back exactly (F32, F16, BF16, metadata); every kind of corrupt
// file (truncated, huge or bad header length, bad JSON, unknown or wrong dtype, offsets past the end,
// overlaps, holes, mismatched sizes) gives a clear error; every truncation and every single-bit flip of a
// small file is either read or refused, never read out of bounds.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "attn/safetensors.h"
#include "model_test_files.h"

namespace attn::test {
namespace {

// A file from a header (JSON text) and data bytes.
std::vector<uint8_t> make_file(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(8 + header.size() + data.size());
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  if (!header.empty()) std::memcpy(out.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}

std::vector<uint8_t> floats(const std::vector<float>& v) {
  std::vector<uint8_t> out(4 * v.size());
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

// Two F32 tensors [2][2] and [3], an F16 [2] and a BF16 [1], and metadata.
std::vector<uint8_t> valid_file() {
  std::vector<uint8_t> data = floats({1, 2, 3, 4, 5, 6, 7});
  const uint8_t half[] = {0x00, 0x3C, 0x00, 0xC0};  // 1.0, -2.0
  const uint8_t bf16[] = {0x40, 0x40};              // 3.0
  data.insert(data.end(), half, half + 4);
  data.insert(data.end(), bf16, bf16 + 2);
  return make_file(
      R"({"__metadata__":{"format":"test"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
      R"("b":{"dtype":"F32","shape":[3],"data_offsets":[16,28]},"h":{"dtype":"F16","shape":[2],"data_offsets":[28,32]},)"
      R"("z":{"dtype":"BF16","shape":[1],"data_offsets":[32,34]}})",
      data);
}

std::string parse_error(const std::vector<uint8_t>& file) {
  SafeTensors st;
  std::string error;
  EXPECT_FALSE(SafeTensors::parse(file.data(), file.size(), &st, &error));
  return error;
}

std::string tensor_file_error(const std::string& entry, size_t data_bytes) {
  return parse_error(make_file("{" + entry + "}", std::vector<uint8_t>(data_bytes)));
}

TEST(SafeTensorsReader, ReadsAValidFile) {
  std::vector<uint8_t> file = valid_file();
  SafeTensors st;
  std::string error;
  ASSERT_TRUE(SafeTensors::parse(file.data(), file.size(), &st, &error)) << error;
  EXPECT_EQ(st.tensors().size(), 4u);
  EXPECT_EQ(st.metadata().at("format"), "test");
  std::vector<float> v;
  ASSERT_TRUE(st.read_f32("a", {2, 2}, &v, &error)) << error;
  EXPECT_EQ(v, (std::vector<float>{1, 2, 3, 4}));
  ASSERT_TRUE(st.read_f32("b", {3}, &v, &error)) << error;
  EXPECT_EQ(v, (std::vector<float>{5, 6, 7}));
  ASSERT_TRUE(st.read_f32("h", {2}, &v, &error)) << error;
  EXPECT_EQ(v, (std::vector<float>{1, -2}));
  ASSERT_TRUE(st.read_f32("z", {1}, &v, &error)) << error;
  EXPECT_EQ(v, (std::vector<float>{3}));
}

TEST(SafeTensorsReader, ReadF32ChecksNameShapeAndDtype) {
  std::vector<uint8_t> file = make_file(R"({"i":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", floats({0, 0}));
  SafeTensors st;
  std::string error;
  ASSERT_TRUE(SafeTensors::parse(file.data(), file.size(), &st, &error)) << error;
  std::vector<float> v;
  EXPECT_FALSE(st.read_f32("i", {2}, &v, &error));
  EXPECT_NE(error.find("tensor 'i' is I32, not F32, F16, BF16 or I8 + scales"), std::string::npos) << error;
  EXPECT_FALSE(st.read_f32("i", {3}, &v, &error));
  EXPECT_NE(error.find("has shape [2] but [3] was expected"), std::string::npos) << error;
  EXPECT_FALSE(st.read_f32("missing", {1}, &v, &error));
  EXPECT_NE(error.find("no tensor 'missing'"), std::string::npos) << error;
}

// An I8 tensor [2][4] with F32 scales [2][2] (blocks of 2 values): X[r][c] = q[r][c] * scale[r][c / 2].
std::vector<uint8_t> int8_file(const std::string& scales_entry) {
  std::vector<uint8_t> data = {1, 0xFF, 127, 0x81, 0, 2, 0xFE, 4};  // 1 -1 127 -127 | 0 2 -2 4
  std::vector<uint8_t> scales = floats({0.5f, 0.25f, 2.0f, -1.0f});
  data.insert(data.end(), scales.begin(), scales.end());
  return make_file(R"({"w":{"dtype":"I8","shape":[2,4],"data_offsets":[0,8]},)" + scales_entry + "}", data);
}

TEST(SafeTensorsReader, ReadsInt8WithBlockScales) {
  std::vector<uint8_t> file = int8_file(R"("w.scales":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]})");
  SafeTensors st;
  std::string error;
  ASSERT_TRUE(SafeTensors::parse(file.data(), file.size(), &st, &error)) << error;
  std::vector<float> v;
  ASSERT_TRUE(st.read_f32("w", {2, 4}, &v, &error)) << error;
  EXPECT_EQ(v, (std::vector<float>{0.5f, -0.5f, 31.75f, -31.75f, 0, 4, 2, -4}));
  FloatRows rows;
  ASSERT_TRUE(st.float_rows("w", {2, 4}, &rows, &error)) << error;
  EXPECT_EQ(rows.rows, 2u);
  EXPECT_EQ(rows.cols, 4u);
  EXPECT_EQ(rows.block, 2u);
  std::vector<float> row(4);
  rows.read(1, row.data());
  EXPECT_EQ(row, (std::vector<float>{0, 4, 2, -4}));
  // One scale per row is the case blocks = 1.
  std::vector<uint8_t> per_row = int8_file(R"("w.scales":{"dtype":"F32","shape":[4,1],"data_offsets":[8,24]})");
  ASSERT_TRUE(SafeTensors::parse(per_row.data(), per_row.size(), &st, &error)) << error;
  EXPECT_FALSE(st.read_f32("w", {2, 4}, &v, &error));  // 4 rows of scales for 2 rows of values
  EXPECT_NE(error.find("no 'w.scales' F32 [2, blocks] with blocks dividing 4"), std::string::npos) << error;
}

TEST(SafeTensorsReader, RefusesInt8WithoutFittingScales) {
  const std::string wrong[] = {
      R"("w.scales":{"dtype":"F32","shape":[2,2,1],"data_offsets":[8,24]})",   // rank 3
      R"("w.scales":{"dtype":"F32","shape":[1,4],"data_offsets":[8,24]})",     // 1 row
      R"("w.scales":{"dtype":"F32","shape":[2,0],"data_offsets":[8,8]},"pad":{"dtype":"U8","shape":[16],"data_offsets":[8,24]})",
      R"("w.scales":{"dtype":"I32","shape":[2,2],"data_offsets":[8,24]})",     // not F32
      R"("x.scales":{"dtype":"F32","shape":[2,2],"data_offsets":[8,24]})",     // another tensor's
  };
  for (const std::string& entry : wrong) {
    std::vector<uint8_t> file = int8_file(entry);
    SafeTensors st;
    std::string error;
    ASSERT_TRUE(SafeTensors::parse(file.data(), file.size(), &st, &error)) << error << " " << entry;
    std::vector<float> v;
    EXPECT_FALSE(st.read_f32("w", {2, 4}, &v, &error)) << entry;
    EXPECT_NE(error.find("tensor 'w' is I8 but the file has no 'w.scales'"), std::string::npos) << error;
  }
  // Blocks that do not divide the row: 3 scales per row of 4.
  std::vector<uint8_t> data = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<uint8_t> scales = floats({1, 1, 1, 1, 1, 1});
  data.insert(data.end(), scales.begin(), scales.end());
  std::vector<uint8_t> file = make_file(R"({"w":{"dtype":"I8","shape":[2,4],"data_offsets":[0,8]},)"
                                        R"("w.scales":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}})",
                                        data);
  SafeTensors st;
  std::string error;
  ASSERT_TRUE(SafeTensors::parse(file.data(), file.size(), &st, &error)) << error;
  std::vector<float> v;
  EXPECT_FALSE(st.read_f32("w", {2, 4}, &v, &error));
}

TEST(SafeTensorsReader, RefusesBadHeaderLengths) {
  std::vector<uint8_t> file = valid_file();
  EXPECT_NE(parse_error({1, 2, 3}).find("3 bytes, shorter than its 8-byte header length"), std::string::npos);
  std::vector<uint8_t> huge = file;
  huge[7] = 0x01;  // 2^56 bytes
  EXPECT_NE(parse_error(huge).find("over the limit"), std::string::npos) << parse_error(huge);
  std::vector<uint8_t> past = file;
  past[0] = 0xFF;
  past[1] = 0xFF;  // 65535 bytes: past the end of a small file
  EXPECT_NE(parse_error(past).find("exceeds the"), std::string::npos) << parse_error(past);
  std::vector<uint8_t> header_only(file.begin(), file.begin() + 20);
  EXPECT_NE(parse_error(header_only).find("truncated file"), std::string::npos) << parse_error(header_only);
}

TEST(SafeTensorsReader, RefusesBadJson) {
  EXPECT_NE(parse_error(make_file(R"({"a":)", {})).find("not valid JSON"), std::string::npos);
  EXPECT_NE(parse_error(make_file(R"([1,2])", {})).find("not a JSON object"), std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"a":1} x)", {})).find("trailing characters"), std::string::npos);
  EXPECT_NE(parse_error(make_file(std::string(200, '['), {})).find("nesting too deep"), std::string::npos);
  EXPECT_NE(parse_error(make_file(R"({"__metadata__":{"k":1}})", {})).find("__metadata__.k is not a string"),
            std::string::npos);
}

// Numbers with a leading zero ("01", "-00", 0 followed by digits) are not JSON (RFC 8259) and were accepted: the
// fuzzer's safetensors target found "shape":[0,0001186493923] (tests/fuzz/regressions/safetensors/crash-faab...).
TEST(SafeTensorsReader, RefusesNumbersWithLeadingZeros) {
  const auto entry = [](const std::string& shape) {
    return R"({"t":{"dtype":"F32","shape":)" + shape + R"(,"data_offsets":[0,4]}})";
  };
  for (const char* shape : {"[01]", "[1,00]", "[-01]", "[0,0001186493923]", "[01.5]", "[00e1]"}) {
    EXPECT_NE(parse_error(make_file(entry(shape), std::vector<uint8_t>(4))).find("leading zero"), std::string::npos)
        << shape << ": " << parse_error(make_file(entry(shape), std::vector<uint8_t>(4)));
  }
  // 0 alone, before a fraction or an exponent, and 10 stay numbers (here: shapes the data does not fit).
  const std::vector<uint8_t> good = make_file(entry("[1]"), std::vector<uint8_t>(4));
  SafeTensors st;
  std::string error;
  EXPECT_TRUE(SafeTensors::parse(good.data(), good.size(), &st, &error)) << error;
  for (const char* shape : {"[0]", "[10]", "[0.5]", "[0e1]"}) {
    EXPECT_EQ(parse_error(make_file(entry(shape), std::vector<uint8_t>(4))).find("leading zero"), std::string::npos)
        << shape;
  }
}

// Repeated keys were resolved differently inside a tensor entry (first wins) and in __metadata__ (last wins);
// invalid UTF-8 in the header was accepted. Both are refused now, as the format's reference reader does.
TEST(SafeTensorsReader, RefusesDuplicateKeysAndInvalidUtf8) {
  const std::string t = R"("t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  auto error_of = [](const std::string& header, size_t data_bytes) {
    return parse_error(make_file(header, std::vector<uint8_t>(data_bytes)));
  };
  auto parses = [](const std::string& header, size_t data_bytes) {
    const std::vector<uint8_t> file = make_file(header, std::vector<uint8_t>(data_bytes));
    SafeTensors st;
    std::string error;
    const bool ok = SafeTensors::parse(file.data(), file.size(), &st, &error);
    EXPECT_TRUE(ok) << error;
    return ok;
  };
  EXPECT_TRUE(parses("{" + t + "}", 4));
  EXPECT_NE(error_of(R"({"t":{"dtype":"F32","shape":[1],"dtype":"I32","data_offsets":[0,4]}})", 4)
                .find("duplicate key 'dtype'"), std::string::npos);
  EXPECT_NE(error_of(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"data_offsets":[0,8]}})", 8)
                .find("duplicate key 'data_offsets'"), std::string::npos);
  EXPECT_NE(error_of(R"({"__metadata__":{"config":"a","config":"b"},)" + t + "}", 4).find("duplicate key 'config'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"__metadata__":{},"__metadata__":{},)" + t + "}", 4).find("duplicate key '__metadata__'"),
            std::string::npos);
  EXPECT_NE(error_of("{" + t + "," + t + "}", 4).find("duplicate key 't'"), std::string::npos);
  // Invalid UTF-8: a stray continuation byte, an overlong '/', an encoded surrogate, a truncated sequence,
  // a code point past U+10FFFF; and a lone surrogate escape. Valid multi-byte names still load.
  for (const std::string bytes : {"\x80", "\xC0\xAF", "\xED\xA0\x80", "\xE2\x96", "\xF4\x90\x80\x80"}) {
    EXPECT_NE(error_of(R"({"__metadata__":{"k":")" + bytes + R"("},)" + t + "}", 4).find("invalid UTF-8"),
              std::string::npos) << bytes.size();
    EXPECT_NE(error_of("{\"" + bytes + R"(":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4)
                  .find("invalid UTF-8"), std::string::npos) << bytes.size();
  }
  EXPECT_NE(error_of(R"({"__metadata__":{"k":"\uD800"},)" + t + "}", 4).find("lone surrogate"), std::string::npos);
  EXPECT_TRUE(parses("{\"\\u00e9\\uD83D\\uDE00\xC3\xA9\xF0\x9F\x98\x80\":"
                     R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4));
}

TEST(SafeTensorsReader, RefusesBadTensorEntries) {
  EXPECT_NE(tensor_file_error(R"("a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]})", 4)
                .find("tensor 'a' has an unknown dtype 'F33'"),
            std::string::npos);
  EXPECT_NE(tensor_file_error(R"("a":{"shape":[1],"data_offsets":[0,4]})", 4).find("no dtype"), std::string::npos);
  EXPECT_NE(tensor_file_error(R"("a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]})", 4).find("shape entry"),
            std::string::npos);
  EXPECT_NE(tensor_file_error(R"("a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]})", 4).find("shape entry"),
            std::string::npos);
  EXPECT_NE(tensor_file_error(R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0]})", 4).find("data_offsets"),
            std::string::npos);
  EXPECT_NE(tensor_file_error(R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]})", 4).find("run backwards"),
            std::string::npos);
  EXPECT_NE(tensor_file_error(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})", 4)
                .find("ends at byte 8 past the end of the data (4 bytes"),
            std::string::npos);
  EXPECT_NE(tensor_file_error(R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]})", 4)
                .find("is F32 [2] = 8 bytes but its data_offsets span 4"),
            std::string::npos);
  EXPECT_NE(tensor_file_error(R"("a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]})", 4)
                .find("data_offsets span 4"),
            std::string::npos);
  EXPECT_NE(tensor_file_error(R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                              R"("b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]})",
                              6)
                .find("overlaps"),
            std::string::npos);
  EXPECT_NE(tensor_file_error(R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]})", 8).find("belong to no tensor"),
            std::string::npos);
  EXPECT_NE(tensor_file_error(R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})", 8).find("cover 4"),
            std::string::npos);
  EXPECT_NE(tensor_file_error(R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                              R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]})",
                              2)
                .find("duplicate key"),
            std::string::npos);
}

// Every truncation and every single-bit flip of the header and the first data bytes: parse either succeeds
// or fails with a message; when it succeeds, every tensor lies inside the file.
TEST(SafeTensorsReader, SurvivesEveryTruncationAndBitFlip) {
  const std::vector<uint8_t> file = valid_file();
  for (size_t n = 0; n < file.size(); ++n) {
    std::vector<uint8_t> cut(file.begin(), file.begin() + n);
    SafeTensors st;
    std::string error;
    EXPECT_FALSE(SafeTensors::parse(cut.data(), cut.size(), &st, &error)) << "truncated at " << n;
    EXPECT_FALSE(error.empty());
  }
  int refused = 0;
  for (size_t byte = 0; byte < file.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> flipped = file;
      flipped[byte] ^= static_cast<uint8_t>(1u << bit);
      SafeTensors st;
      std::string error;
      if (SafeTensors::parse(flipped.data(), flipped.size(), &st, &error)) {
        for (const TensorInfo& t : st.tensors()) {
          EXPECT_LE(t.end, flipped.size());
          EXPECT_LE(st.bytes(t) + (t.end - t.begin), flipped.data() + flipped.size());
          EXPECT_GE(st.bytes(t), flipped.data() + 8);
        }
      } else {
        EXPECT_EQ(error.rfind("safetensors: ", 0), 0u) << error;
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, 0);
}

TEST(SafeTensorsReader, HalfToFloatIsExact) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const int exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    const double sign = (h & 0x8000) ? -1 : 1;
    const float got = half_to_float(static_cast<uint16_t>(h));
    if (exp == 0x1F) {
      EXPECT_TRUE(mant ? std::isnan(got) : std::isinf(got)) << h;
      continue;
    }
    const double want = exp == 0 ? sign * std::ldexp(mant, -24) : sign * std::ldexp(1024 + mant, exp - 25);
    EXPECT_EQ(got, static_cast<float>(want)) << h;
    EXPECT_EQ(std::signbit(got), (h & 0x8000) != 0) << h;
  }
}

TEST(SafeTensorsReader, ReadsTheConvertedModelFiles) {
  for (const std::string& path : {model_f32_path(), model_f16_path(), model_i8_path()}) {
    std::vector<uint8_t> bytes = read_file(path);
    if (bytes.empty()) GTEST_SKIP() << path << " is missing: run scripts/build.sh";
    SafeTensors st;
    std::string error;
    ASSERT_TRUE(SafeTensors::parse(bytes.data(), bytes.size(), &st, &error)) << error;
    EXPECT_NE(st.find("embeddings.token"), nullptr);
    EXPECT_NE(st.metadata().find("config"), st.metadata().end());
  }
}

}  // namespace
}  // namespace attn::test
