// B sentences, L layers, M model dims, H heads.
//
// The encoder-decoder (attn/seq2seq.h): the whole model's gradient against central differences of its loss
// for every score function, a reverse task that must reach 100% exact match in a bounded number of steps,
// determinism from the seed, and the safetensors round trip.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "attn/seq2seq.h"
#include "attn/threads.h"

namespace attn::test {
namespace {

Seq2SeqConfig tiny(Score score) {
  Seq2SeqConfig c;
  c.src_vocab = 7, c.tgt_vocab = 8, c.d_model = 8, c.heads = 2, c.d_ff = 12, c.encoder_layers = 2,
  c.decoder_layers = 2, c.max_len = 8, c.score = score, c.da = 5, c.seed = 3;
  return c;
}

// Two sentences of different lengths (3 and 1 source tokens, 2 and 3 target tokens), a repeated id included.
Seq2SeqBatch tiny_batch() {
  Seq2SeqBatch b;
  b.src = {4, 1, 4, 6};
  b.src_lens = {3, 1};
  b.tgt = {5, 3, 7, 7, 4};
  b.tgt_lens = {2, 3};
  return b;
}

class Seq2SeqGradient : public ::testing::TestWithParam<Score> {};

// The loss is a float computation through ~40 ops (each op's output rounded to float), so the noise of a
// central difference falls as 1/h: with h = 3e-3 it is ~3e-3 of this model's gradients (measured: 1.5e-3 at
// h = 3e-3, 4e-3 at 1e-3, 1.3e-2 at 3e-4, the error of a wrong gradient would not shrink). Each tensor is checked along a direction d of random signs
// (numeric (L(p + h d) - L(p - h d)) / 2h against sum_i g_i d_i, which sums the whole tensor's gradient), and
// coordinate by coordinate (first, last and 4 between) with the looser bound that noise allows; both errors are
// divided by the tensor's scale, sum |g| for the direction and max |g| for a coordinate, floored at 1% of the
// model's largest |g| (the key biases' true gradient is 0: softmax does not see a constant added to a row). The reference variant runs
// in double inside each op; the optimized variant's gradient is checked against the reference's.
TEST_P(Seq2SeqGradient, MatchesCentralDifferences) {
  Seq2SeqModel model;
  std::string error;
  ASSERT_TRUE(model.init(tiny(GetParam()), &error)) << error;
  // Non-trivial layer-norm scales and biases (init leaves them 1 and 0).
  uint32_t s = 12345;
  auto next = [&s]() {
    s ^= s << 13, s ^= s >> 17, s ^= s << 5;
    return float(s >> 8) / float(1 << 24);
  };
  for (float& p : model.params()) p += 0.05f * (next() - 0.5f);
  const Seq2SeqBatch batch = tiny_batch();
  ASSERT_EQ(model.check_batch(batch), "");
  model.forward_backward(batch, Variant::kOptimized);
  const std::vector<float> optimized = model.grads();
  model.forward_backward(batch, Variant::kReference);
  const std::vector<float> grads = model.grads();
  const float h = 3e-3f;
  auto difference = [&](const std::vector<size_t>& at, const std::vector<float>& d) {
    std::vector<float> saved;
    for (size_t i : at) saved.push_back(model.params()[i]);
    for (size_t k = 0; k < at.size(); ++k) model.params()[at[k]] = saved[k] + h * d[k];
    const double up = model.loss(batch, Variant::kReference);
    for (size_t k = 0; k < at.size(); ++k) model.params()[at[k]] = saved[k] - h * d[k];
    const double down = model.loss(batch, Variant::kReference);
    for (size_t k = 0; k < at.size(); ++k) model.params()[at[k]] = saved[k];
    return (up - down) / (2.0 * h);
  };
  double worst_dir = 0, worst_coord = 0, floor = 0;
  for (float g : grads) floor = std::max(floor, 1e-2 * std::abs(double(g)));
  for (const Seq2SeqTensor& t : model.tensors()) {
    double max_g = floor, sum_g = floor, opt_err = 0, analytic = 0;
    std::vector<size_t> all(t.count);
    std::vector<float> signs(t.count);
    for (size_t i = 0; i < t.count; ++i) {
      const double g = grads[t.offset + i];
      max_g = std::max(max_g, std::abs(g));
      sum_g += std::abs(g);
      opt_err = std::max(opt_err, std::abs(double(optimized[t.offset + i]) - g));
      all[i] = t.offset + i;
      signs[i] = next() < 0.5f ? -1.0f : 1.0f;
      analytic += g * signs[i];
    }
    EXPECT_LE(opt_err / max_g, 1e-4) << t.name << ": optimized vs reference";
    const double dir_err = std::abs(difference(all, signs) - analytic) / sum_g;
    worst_dir = std::max(worst_dir, dir_err);
    EXPECT_LE(dir_err, 1e-2) << t.name << " along a random direction";
    const size_t picks = std::min<size_t>(6, t.count);
    for (size_t k = 0; k < picks; ++k) {
      const size_t i = t.offset + (picks == 1 ? 0 : k * (t.count - 1) / (picks - 1));
      const double numeric = difference({i}, {1.0f});
      const double err = std::abs(numeric - grads[i]) / max_g;
      worst_coord = std::max(worst_coord, err);
      EXPECT_LE(err, 1e-2) << t.name << "[" << i - t.offset << "]: numeric " << numeric << " analytic " << grads[i]
                           << " (largest |grad| " << max_g << ")";
    }
  }
  std::printf("[ seq2seq ] %s: worst error along a direction %.2e, per coordinate %.2e\n", score_name(GetParam()),
              worst_dir, worst_coord);
}

INSTANTIATE_TEST_SUITE_P(AllScores, Seq2SeqGradient,
                         ::testing::Values(Score::kDot, Score::kScaledDot, Score::kGeneral, Score::kAdditive),
                         [](const auto& info) { return std::string(score_name(info.param)); });

// Reverse a sequence of 2 to 4 symbols out of 5: source ids 0..4, target ids 3..7 (0 pad, 1 bos, 2 eos).
struct ReverseTask {
  std::vector<std::vector<int32_t>> all;
  ReverseTask() {
    for (int n = 2; n <= 4; ++n) {
      int count = 1;
      for (int i = 0; i < n; ++i) count *= 5;
      for (int c = 0; c < count; ++c) {
        std::vector<int32_t> seq;
        for (int i = 0, v = c; i < n; ++i, v /= 5) seq.push_back(v % 5);
        all.push_back(seq);
      }
    }
  }
  Seq2SeqBatch batch(uint32_t& state, int size) const {
    Seq2SeqBatch b;
    for (int i = 0; i < size; ++i) {
      state ^= state << 13, state ^= state >> 17, state ^= state << 5;
      const auto& seq = all[state % all.size()];
      b.src.insert(b.src.end(), seq.begin(), seq.end());
      for (auto it = seq.rbegin(); it != seq.rend(); ++it) b.tgt.push_back(*it + 3);
      b.src_lens.push_back(int32_t(seq.size()));
      b.tgt_lens.push_back(int32_t(seq.size()));
    }
    return b;
  }
  // Exact-match fraction of greedy decoding over every sequence.
  double exact(Seq2SeqModel& model) const {
    int right = 0;
    for (const auto& seq : all) {
      Seq2SeqTranslation t;
      std::string error;
      EXPECT_TRUE(model.translate(seq, 8, false, false, Variant::kOptimized, &t, &error)) << error;
      std::vector<int32_t> want;
      for (auto it = seq.rbegin(); it != seq.rend(); ++it) want.push_back(*it + 3);
      want.push_back(2);
      right += t.tokens == want;
    }
    return double(right) / all.size();
  }
};

Seq2SeqConfig reverse_config() {
  Seq2SeqConfig c;
  c.src_vocab = 5, c.tgt_vocab = 8, c.d_model = 16, c.heads = 2, c.d_ff = 32, c.encoder_layers = 1,
  c.decoder_layers = 1, c.max_len = 8, c.score = Score::kScaledDot, c.seed = 7;
  return c;
}

AdamWConfig reverse_optimizer() {
  AdamWConfig o;
  o.lr = 1e-2f, o.warmup_steps = 30, o.decay_steps = 600, o.weight_decay = 0.01f, o.clip_norm = 1.0f;
  return o;
}

// The bounded number of steps: 600 steps of 32 sentences (the loss curve is printed for the record).
TEST(Seq2SeqTraining, ReversesEverySequenceWithinABoundedNumberOfSteps) {
  const ReverseTask task;
  Seq2SeqModel model;
  std::string error;
  ASSERT_TRUE(model.init(reverse_config(), &error)) << error;
  uint32_t state = 99;
  double exact = 0;
  int step = 0;
  for (; step < 600 && exact < 1.0; step += 100) {
    Seq2SeqStep r;
    for (int i = 0; i < 100; ++i) r = model.train_step(task.batch(state, 32), reverse_optimizer(), Variant::kOptimized);
    exact = task.exact(model);
    std::printf("[ seq2seq ] reverse: step %d loss %.4f exact %.3f\n", r.step, r.loss, exact);
  }
  EXPECT_EQ(exact, 1.0) << "after " << step << " steps";
}

// The same seed and batches give the same loss curve to the last bit; a different seed does not.
TEST(Seq2SeqTraining, IsDeterministicFromTheSeed) {
  const ReverseTask task;
  auto curve = [&](uint32_t seed) {
    Seq2SeqConfig c = reverse_config();
    c.seed = seed;
    Seq2SeqModel model;
    std::string error;
    EXPECT_TRUE(model.init(c, &error)) << error;
    uint32_t state = 5;
    std::vector<float> losses;
    for (int i = 0; i < 20; ++i) losses.push_back(model.train_step(task.batch(state, 16), reverse_optimizer(), Variant::kOptimized).loss);
    return losses;
  };
  const auto a = curve(7), b = curve(7), c = curve(8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_LT(a.back(), a.front());
}

// On two threads (where the build has them: native, WASM pthreads) the curve stays within 1e-5 of one thread's.
TEST(Seq2SeqTraining, TwoThreadsFollowTheOneThreadCurve) {
  const ReverseTask task;
  auto curve = [&](int threads) {
    set_thread_count(threads);
    Seq2SeqModel model;
    std::string error;
    EXPECT_TRUE(model.init(reverse_config(), &error)) << error;
    uint32_t state = 11;
    std::vector<float> losses;
    for (int i = 0; i < 20; ++i) losses.push_back(model.train_step(task.batch(state, 64), reverse_optimizer(), Variant::kOptimized).loss);
    set_thread_count(1);
    return losses;
  };
  const auto one = curve(1), two = curve(2);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_NEAR(two[i], one[i], 1e-5) << "step " << i + 1;
}

// The attention blocks split their sentences over the threads and the feed-forward blocks their rows (seq2seq.cpp,
// accumulate_in_parts): on two threads (builds with threads) every score function's whole-model gradient,
// parameter gradients summed from private per-thread copies, equals one thread's within float rounding, and two
// runs on two threads give the same bits.
TEST(Seq2SeqTraining, TwoThreadsGiveTheOneThreadGradient) {
  for (Score score : {Score::kDot, Score::kScaledDot, Score::kGeneral, Score::kAdditive}) {
    Seq2SeqConfig c = tiny(score);
    c.src_vocab = 5, c.tgt_vocab = 8, c.d_model = 16, c.d_ff = 64, c.max_len = 8;
    uint32_t state = 21;
    // 61 sentences (unequal parts), ~180 rows: the feed-forward blocks (rows x 16 x 64 >= kRowParallelMacs)
    // split their rows too.
    const Seq2SeqBatch batch = ReverseTask().batch(state, 61);
    auto gradient = [&](int threads, float* loss) {
      set_thread_count(threads);
      Seq2SeqModel model;
      std::string error;
      EXPECT_TRUE(model.init(c, &error)) << error;
      *loss = model.forward_backward(batch, Variant::kOptimized);
      set_thread_count(1);
      return model.grads();
    };
    float l1 = 0, l2 = 0, l2b = 0;
    const std::vector<float> one = gradient(1, &l1), two = gradient(2, &l2), again = gradient(2, &l2b);
    ASSERT_EQ(one.size(), two.size());
    float scale = 0, err = 0;
    for (size_t i = 0; i < one.size(); ++i) scale = std::max(scale, std::fabs(one[i])), err = std::max(err, std::fabs(two[i] - one[i]));
    std::printf("[ seq2seq ] score %d: two threads vs one, max |dgrad| %.2e (largest |grad| %.2e)\n", int(score), err, scale);
    EXPECT_LE(err, 1e-5f * scale) << "score " << int(score);
    EXPECT_NEAR(l2, l1, 1e-6f);
    EXPECT_EQ(two, again);
    EXPECT_EQ(l2, l2b);
  }
}

TEST(Seq2Seq, SavesAndLoadsSafetensors) {
  Seq2SeqModel model;
  std::string error;
  ASSERT_TRUE(model.init(tiny(Score::kAdditive), &error)) << error;
  model.train_step(tiny_batch(), reverse_optimizer(), Variant::kOptimized);
  const std::vector<uint8_t> file = model.save({{"note", "a \"quoted\" value\n"}});
  Seq2SeqModel loaded;
  ASSERT_TRUE(loaded.load(file.data(), file.size(), &error)) << error;
  EXPECT_EQ(loaded.params(), model.params());
  EXPECT_EQ(loaded.config().score, Score::kAdditive);
  EXPECT_EQ(loaded.config().da, 5);
  EXPECT_EQ(loaded.metadata().at("note"), "a \"quoted\" value\n");
  EXPECT_EQ(loaded.steps_taken(), 1);
  EXPECT_FLOAT_EQ(loaded.loss(tiny_batch(), Variant::kReference), model.loss(tiny_batch(), Variant::kReference));
  // A file of another model is refused with a message.
  std::vector<uint8_t> cut(file.begin(), file.begin() + file.size() / 2);
  EXPECT_FALSE(loaded.load(cut.data(), cut.size(), &error));
  EXPECT_NE(error.find("safetensors"), std::string::npos) << error;
}

TEST(Seq2Seq, RefusesBadBatchesAndReturnsCausalAttention) {
  Seq2SeqModel model;
  std::string error;
  ASSERT_TRUE(model.init(tiny(Score::kGeneral), &error)) << error;
  Seq2SeqBatch b = tiny_batch();
  b.src[1] = 7;
  EXPECT_NE(model.check_batch(b).find("src[1] = 7 is not in [0, 7)"), std::string::npos) << model.check_batch(b);
  b = tiny_batch();
  b.tgt_lens[1] = 4;
  EXPECT_NE(model.check_batch(b).find("tgtLengths add up to 6"), std::string::npos) << model.check_batch(b);
  Seq2SeqTranslation t;
  ASSERT_TRUE(model.translate({1, 2, 3}, 6, true, true, Variant::kOptimized, &t, &error)) << error;
  const size_t m = t.tokens.size(), n = 3;
  ASSERT_EQ(t.decoder.size(), 2u);
  for (const auto& w : t.decoder) {
    ASSERT_EQ(w.size(), 2 * m * m);
    for (size_t h = 0; h < 2; ++h)
      for (size_t i = 0; i < m; ++i)
        for (size_t j = i + 1; j < m; ++j) EXPECT_EQ(w[(h * m + i) * m + j], 0.0f);
  }
  for (const auto& w : t.cross) {
    ASSERT_EQ(w.size(), 2 * m * n);
    for (size_t r = 0; r < 2 * m; ++r) {
      double sum = 0;
      for (size_t j = 0; j < n; ++j) sum += w[r * n + j];
      EXPECT_NEAR(sum, 1.0, 1e-5);
    }
  }
  EXPECT_EQ(t.encoder[0].size(), 2 * n * n);
}

// Greedy decoding runs one row per token on cached keys and values; the logits it chose each token from equal
// the full forward's over the whole output (the mean cross-entropy of the generated tokens, <eos> last).
TEST(Seq2Seq, CachedDecodingMatchesTheFullForward) {
  for (Score score : {Score::kDot, Score::kScaledDot, Score::kGeneral, Score::kAdditive}) {
    Seq2SeqModel model;
    std::string error;
    Seq2SeqConfig config = tiny(score);
    ASSERT_TRUE(model.init(config, &error)) << error;
    for (const std::vector<int32_t>& src : {std::vector<int32_t>{1, 2, 3}, std::vector<int32_t>{4, 4, 6, 5, 3}}) {
      Seq2SeqTranslation t;
      ASSERT_TRUE(model.translate(src, 6, false, false, Variant::kOptimized, &t, &error)) << error;
      const size_t m = t.tokens.size(), V = size_t(config.tgt_vocab);
      ASSERT_EQ(t.logits.size(), m * V);
      Seq2SeqBatch b;
      b.src = src;
      b.src_lens = {int32_t(src.size())};
      b.tgt.assign(t.tokens.begin(), t.tokens.end() - 1);
      b.tgt_lens = {int32_t(m - 1)};
      double expected = 0;
      for (size_t i = 0; i < m; ++i) {
        const float* row = t.logits.data() + i * V;
        const int32_t target = i + 1 < m ? t.tokens[i] : config.eos;
        EXPECT_EQ(t.tokens[i], int32_t(std::max_element(row, row + V) - row));
        double mx = row[0], sum = 0;
        for (size_t j = 0; j < V; ++j) mx = std::max(mx, double(row[j]));
        for (size_t j = 0; j < V; ++j) sum += std::exp(double(row[j]) - mx);
        expected += (mx + std::log(sum) - row[target]) / double(m);
      }
      EXPECT_NEAR(model.loss(b, Variant::kOptimized), expected, 1e-6) << score_name(score);
    }
  }
}

}  // namespace
}  // namespace attn::test
