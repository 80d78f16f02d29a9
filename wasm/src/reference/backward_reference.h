// H heads, Tq queries, Tk keys, D query/key dims, Dv value dims, A additive hidden dims, M model dims,
// Dh = M/H, T rows, I input dims, O output dims, V vocabulary rows, N elements.
//
// REFERENCE forward/backward pairs of the training ops (attn/backward.h): written to be read, not to be fast.
// Plain scalar C++, every sum accumulated in double, no intrinsics, no tiling. Templates over the element
// type T: T = float is the engine's kReference variant (src/reference/*_backward_f32__reference.cpp); the
// tests also run T = double, so that float64 central differences of these very forwards check the backwards.
// Each backward accumulates (+=) into its gradient buffers and skips a null one.
#pragma once

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "attn/attention.h"

namespace attn::reference {

template <typename T>
struct ScoreParamsT {
  Score score = Score::kScaledDot;
  const T* W = nullptr;   // general [D][D]
  const T* Wq = nullptr;  // additive [A][D]
  const T* Wk = nullptr;  // additive [A][D]
  const T* v = nullptr;   // additive [A]
  int da = 0;
};
template <typename T>
struct ScoreGradsT {
  T* dW = nullptr;
  T* dWq = nullptr;
  T* dWk = nullptr;
  T* dv = nullptr;
};

inline bool allowed_at(const MaskParams& mask, int i, int j, int nq, int nk) {
  switch (mask.kind) {
    case MaskKind::kNone: return true;
    case MaskKind::kCausal: return causal_allows(i, j, nq + mask.rows_after, nk);
    case MaskKind::kExplicit: return mask.allowed[size_t(i) * nk + j] != 0;
  }
  return true;
}

// Per head, what the score function needs besides q and k, in double:
//   additive: hq [Tq][A] = q Wq^T, hk [Tk][A] = k Wk^T.
template <typename T>
struct ScoreCache {
  std::vector<double> hq, hk;
  void fill(const T* q, const T* k, const ScoreParamsT<T>& p, int nq, int nk, int dk) {
    if (p.score != Score::kAdditive) return;
    hq.assign(size_t(nq) * p.da, 0.0);
    hk.assign(size_t(nk) * p.da, 0.0);
    for (int a = 0; a < p.da; ++a) {
      for (int i = 0; i < nq; ++i)
        for (int d = 0; d < dk; ++d) hq[size_t(i) * p.da + a] += double(p.Wq[a * dk + d]) * double(q[size_t(i) * dk + d]);
      for (int j = 0; j < nk; ++j)
        for (int d = 0; d < dk; ++d) hk[size_t(j) * p.da + a] += double(p.Wk[a * dk + d]) * double(k[size_t(j) * dk + d]);
    }
  }
};

// s(q_i, k_j) in double (attention.h lists the four score functions).
template <typename T>
double score_of(const T* qi, const T* kj, int i, int j, const ScoreParamsT<T>& p, const ScoreCache<T>& c, int dk) {
  switch (p.score) {
    case Score::kDot:
    case Score::kScaledDot: {
      double s = 0.0;
      for (int d = 0; d < dk; ++d) s += double(qi[d]) * double(kj[d]);
      return p.score == Score::kScaledDot ? s / std::sqrt(double(dk)) : s;
    }
    case Score::kGeneral: {
      double s = 0.0;
      for (int d = 0; d < dk; ++d)
        for (int e = 0; e < dk; ++e) s += double(qi[d]) * double(p.W[d * dk + e]) * double(kj[e]);
      return s;
    }
    case Score::kAdditive: {
      double s = 0.0;
      for (int a = 0; a < p.da; ++a)
        s += double(p.v[a]) * std::tanh(c.hq[size_t(i) * p.da + a] + c.hk[size_t(j) * p.da + a]);
      return s;
    }
  }
  return 0.0;
}

// out [H][Tq][Dv]; row_max, row_sum [H][Tq] (may be null); q [H][Tq][D]; k [H][Tk][D]; v [H][Tk][Dv].
// Per head and query i:
//   pass 1: s_j = score(q_i, k_j) or -INFINITY where masked; m = max_j s_j
//   pass 2: l = sum_j exp(s_j - m)     (saved: m and l; a row with no allowed key saves -INFINITY and 0)
//   pass 3: out_i = sum_j exp(s_j - m) / l v_j  (0 for a row with no allowed key)
template <typename T>
void attention_forward(T* out, T* row_max, T* row_sum, const T* q, const T* k, const T* v, const ScoreParamsT<T>& score,
                       const MaskParams& mask, int heads, int nq, int nk, int dk, int dv) {
  assert(out && q && k && v && heads > 0 && nq > 0 && nk > 0 && dk > 0 && dv > 0);
  std::vector<double> s(nk), acc(dv);
  ScoreCache<T> cache;
  for (int h = 0; h < heads; ++h) {
    const T* qh = q + size_t(h) * nq * dk;
    const T* kh = k + size_t(h) * nk * dk;
    const T* vh = v + size_t(h) * nk * dv;
    cache.fill(qh, kh, score, nq, nk, dk);
    for (int i = 0; i < nq; ++i) {
      double m = -INFINITY;  // pass 1
      for (int j = 0; j < nk; ++j) {
        s[j] = allowed_at(mask, i, j, nq, nk)
                   ? score_of(qh + size_t(i) * dk, kh + size_t(j) * dk, i, j, score, cache, dk)
                   : -INFINITY;
        if (s[j] > m) m = s[j];
      }
      double l = 0.0;  // pass 2
      for (int j = 0; j < nk; ++j) {
        s[j] = (m == -INFINITY || s[j] == -INFINITY) ? 0.0 : std::exp(s[j] - m);
        l += s[j];
      }
      for (int c = 0; c < dv; ++c) acc[c] = 0.0;  // pass 3
      for (int j = 0; j < nk; ++j) {
        const double w = l > 0.0 ? s[j] / l : 0.0;
        for (int c = 0; c < dv; ++c) acc[c] += w * double(vh[size_t(j) * dv + c]);
      }
      T* o = out + (size_t(h) * nq + i) * dv;
      for (int c = 0; c < dv; ++c) o[c] = T(acc[c]);
      if (row_max) row_max[size_t(h) * nq + i] = T(m);
      if (row_sum) row_sum[size_t(h) * nq + i] = T(l);
    }
  }
}

// dq [H][Tq][D], dk [H][Tk][D], dvalue [H][Tk][Dv], dscore (+=); dout [H][Tq][Dv]; q, k, v as in the forward.
// The reference recomputes the probabilities in double from q and k (it needs none of the forward's saved
// values); the chain rule is written out in attn/backward.h. Per head and query i:
//   pass 1: s, m, l as in the forward; P_j = exp(s_j - m) / l (a row with no allowed key: skipped, dS = 0)
//   pass 2: dP_j = dout_i . v_j; Delta = sum_j P_j dP_j; dS_j = P_j (dP_j - Delta); dvalue_j += P_j dout_i
//   pass 3: dS_j through the score function into dq_i, dk_j and the score parameters.
template <typename T>
void attention_backward(T* dq, T* dk, T* dvalue, const ScoreGradsT<T>& dscore, const T* dout, const T* q, const T* k,
                        const T* v, const ScoreParamsT<T>& score, const MaskParams& mask, int heads, int nq, int nk,
                        int dk_, int dv) {
  assert(dout && q && k && v && heads > 0 && nq > 0 && nk > 0 && dk_ > 0 && dv > 0);
  const int D = dk_, A = score.da;
  const double scale = score.score == Score::kScaledDot ? 1.0 / std::sqrt(double(D)) : 1.0;
  std::vector<double> s(nk), p(nk), ds(nk);
  std::vector<double> gdq(size_t(nq) * D), gdk(size_t(nk) * D), gdv(size_t(nk) * dv);
  std::vector<double> gW(score.score == Score::kGeneral ? size_t(D) * D : 0);
  std::vector<double> gWq(score.score == Score::kAdditive ? size_t(A) * D : 0), gWk(gWq.size()), gva(A > 0 ? A : 0);
  std::vector<double> ghq(score.score == Score::kAdditive ? size_t(nq) * A : 0), ghk(size_t(nk) * A);
  ScoreCache<T> cache;
  for (int h = 0; h < heads; ++h) {
    const T* qh = q + size_t(h) * nq * D;
    const T* kh = k + size_t(h) * nk * D;
    const T* vh = v + size_t(h) * nk * dv;
    const T* doh = dout + size_t(h) * nq * dv;
    cache.fill(qh, kh, score, nq, nk, D);
    std::fill(gdq.begin(), gdq.end(), 0.0);
    std::fill(gdk.begin(), gdk.end(), 0.0);
    std::fill(gdv.begin(), gdv.end(), 0.0);
    std::fill(ghq.begin(), ghq.end(), 0.0);
    std::fill(ghk.begin(), ghk.end(), 0.0);
    for (int i = 0; i < nq; ++i) {
      const T* qi = qh + size_t(i) * D;
      const T* doi = doh + size_t(i) * dv;
      double m = -INFINITY;  // pass 1
      for (int j = 0; j < nk; ++j) {
        s[j] = allowed_at(mask, i, j, nq, nk) ? score_of(qi, kh + size_t(j) * D, i, j, score, cache, D) : -INFINITY;
        if (s[j] > m) m = s[j];
      }
      if (m == -INFINITY) continue;  // no allowed key: the output is the constant 0
      double l = 0.0;
      for (int j = 0; j < nk; ++j) {
        p[j] = s[j] == -INFINITY ? 0.0 : std::exp(s[j] - m);
        l += p[j];
      }
      double delta = 0.0;  // pass 2
      for (int j = 0; j < nk; ++j) {
        p[j] /= l;
        double dp = 0.0;
        for (int c = 0; c < dv; ++c) dp += double(doi[c]) * double(vh[size_t(j) * dv + c]);
        ds[j] = dp;
        delta += p[j] * dp;
      }
      for (int j = 0; j < nk; ++j) {
        ds[j] = p[j] * (ds[j] - delta);
        for (int c = 0; c < dv; ++c) gdv[size_t(j) * dv + c] += p[j] * double(doi[c]);
      }
      for (int j = 0; j < nk; ++j) {  // pass 3
        if (p[j] == 0.0) continue;
        const T* kj = kh + size_t(j) * D;
        switch (score.score) {
          case Score::kDot:
          case Score::kScaledDot:
            for (int d = 0; d < D; ++d) {
              gdq[size_t(i) * D + d] += ds[j] * scale * double(kj[d]);
              gdk[size_t(j) * D + d] += ds[j] * scale * double(qi[d]);
            }
            break;
          case Score::kGeneral:
            for (int d = 0; d < D; ++d)
              for (int e = 0; e < D; ++e) {
                const double w = double(score.W[d * D + e]);
                gdq[size_t(i) * D + d] += ds[j] * w * double(kj[e]);
                gdk[size_t(j) * D + e] += ds[j] * w * double(qi[d]);
                gW[size_t(d) * D + e] += ds[j] * double(qi[d]) * double(kj[e]);
              }
            break;
          case Score::kAdditive:
            for (int a = 0; a < A; ++a) {
              const double t = std::tanh(cache.hq[size_t(i) * A + a] + cache.hk[size_t(j) * A + a]);
              gva[a] += ds[j] * t;
              const double g = ds[j] * double(score.v[a]) * (1.0 - t * t);
              ghq[size_t(i) * A + a] += g;
              ghk[size_t(j) * A + a] += g;
            }
            break;
        }
      }
    }
    if (score.score == Score::kAdditive) {  // hq = q Wq^T, hk = k Wk^T: back to q, k, Wq, Wk
      for (int a = 0; a < A; ++a)
        for (int d = 0; d < D; ++d) {
          for (int i = 0; i < nq; ++i) {
            gdq[size_t(i) * D + d] += ghq[size_t(i) * A + a] * double(score.Wq[a * D + d]);
            gWq[size_t(a) * D + d] += ghq[size_t(i) * A + a] * double(qh[size_t(i) * D + d]);
          }
          for (int j = 0; j < nk; ++j) {
            gdk[size_t(j) * D + d] += ghk[size_t(j) * A + a] * double(score.Wk[a * D + d]);
            gWk[size_t(a) * D + d] += ghk[size_t(j) * A + a] * double(kh[size_t(j) * D + d]);
          }
        }
    }
    if (dq) for (size_t x = 0; x < gdq.size(); ++x) dq[size_t(h) * nq * D + x] += T(gdq[x]);
    if (dk) for (size_t x = 0; x < gdk.size(); ++x) dk[size_t(h) * nk * D + x] += T(gdk[x]);
    if (dvalue) for (size_t x = 0; x < gdv.size(); ++x) dvalue[size_t(h) * nk * dv + x] += T(gdv[x]);
  }
  if (dscore.dW) for (size_t x = 0; x < gW.size(); ++x) dscore.dW[x] += T(gW[x]);
  if (dscore.dWq) for (size_t x = 0; x < gWq.size(); ++x) dscore.dWq[x] += T(gWq[x]);
  if (dscore.dWk) for (size_t x = 0; x < gWk.size(); ++x) dscore.dWk[x] += T(gWk[x]);
  if (dscore.dv && score.score == Score::kAdditive) for (int a = 0; a < A; ++a) dscore.dv[a] += T(gva[a]);
}

// out [T][O] = x [T][I] . W [I][O] + b [O] (b may be null).
template <typename T>
void dense_forward(T* out, const T* x, const T* W, const T* b, int t, int in, int n_out) {
  for (int r = 0; r < t; ++r)
    for (int o = 0; o < n_out; ++o) {
      double acc = b ? double(b[o]) : 0.0;
      for (int i = 0; i < in; ++i) acc += double(x[size_t(r) * in + i]) * double(W[size_t(i) * n_out + o]);
      out[size_t(r) * n_out + o] = T(acc);
    }
}

// dx += dout W^T [T][I]; dW += x^T dout [I][O]; db += sum_t dout [O].
template <typename T>
void dense_backward(T* dx, T* dW, T* db, const T* dout, const T* x, const T* W, int t, int in, int n_out) {
  if (dx)
    for (int r = 0; r < t; ++r)
      for (int i = 0; i < in; ++i) {
        double acc = 0.0;
        for (int o = 0; o < n_out; ++o) acc += double(dout[size_t(r) * n_out + o]) * double(W[size_t(i) * n_out + o]);
        dx[size_t(r) * in + i] += T(acc);
      }
  if (dW)
    for (int i = 0; i < in; ++i)
      for (int o = 0; o < n_out; ++o) {
        double acc = 0.0;
        for (int r = 0; r < t; ++r) acc += double(x[size_t(r) * in + i]) * double(dout[size_t(r) * n_out + o]);
        dW[size_t(i) * n_out + o] += T(acc);
      }
  if (db)
    for (int o = 0; o < n_out; ++o) {
      double acc = 0.0;
      for (int r = 0; r < t; ++r) acc += double(dout[size_t(r) * n_out + o]);
      db[o] += T(acc);
    }
}

// out [T][D], mean [T], rstd [T] (saved); pass 1: mean; pass 2: biased variance; pass 3: normalise, scale, shift.
template <typename T>
void layer_norm_forward(T* out, T* mean, T* rstd, const T* x, const T* scale, const T* bias, double eps, int t, int d) {
  for (int r = 0; r < t; ++r) {
    const T* xr = x + size_t(r) * d;
    double mu = 0.0;
    for (int c = 0; c < d; ++c) mu += double(xr[c]);
    mu /= d;
    double var = 0.0;
    for (int c = 0; c < d; ++c) var += (double(xr[c]) - mu) * (double(xr[c]) - mu);
    var /= d;
    const double rs = 1.0 / std::sqrt(var + eps);
    for (int c = 0; c < d; ++c)
      out[size_t(r) * d + c] = T((double(xr[c]) - mu) * rs * double(scale[c]) + double(bias[c]));
    if (mean) mean[r] = T(mu);
    if (rstd) rstd[r] = T(rs);
  }
}

// xhat = (x - mean) rstd; dbias += sum_t dout; dscale += sum_t dout xhat;
// g = dout scale; dx += rstd (g - mean_c(g) - xhat mean_c(g xhat)).
template <typename T>
void layer_norm_backward(T* dx, T* dscale, T* dbias, const T* dout, const T* x, const T* mean, const T* rstd,
                         const T* scale, int t, int d) {
  std::vector<double> gs(d, 0.0), gb(d, 0.0);
  for (int r = 0; r < t; ++r) {
    const T* xr = x + size_t(r) * d;
    const T* dr = dout + size_t(r) * d;
    const double mu = double(mean[r]), rs = double(rstd[r]);
    double mg = 0.0, mgx = 0.0;
    for (int c = 0; c < d; ++c) {
      const double xhat = (double(xr[c]) - mu) * rs, g = double(dr[c]) * double(scale[c]);
      gb[c] += double(dr[c]);
      gs[c] += double(dr[c]) * xhat;
      mg += g;
      mgx += g * xhat;
    }
    mg /= d;
    mgx /= d;
    if (dx)
      for (int c = 0; c < d; ++c) {
        const double xhat = (double(xr[c]) - mu) * rs, g = double(dr[c]) * double(scale[c]);
        dx[size_t(r) * d + c] += T(rs * (g - mg - xhat * mgx));
      }
  }
  if (dscale) for (int c = 0; c < d; ++c) dscale[c] += T(gs[c]);
  if (dbias) for (int c = 0; c < d; ++c) dbias[c] += T(gb[c]);
}

template <typename T>
void relu_forward(T* out, const T* x, int n) {
  for (int i = 0; i < n; ++i) out[i] = x[i] > T(0) ? x[i] : T(0);
}
template <typename T>
void relu_backward(T* dx, const T* dout, const T* x, int n) {
  for (int i = 0; i < n; ++i)
    if (x[i] > T(0)) dx[i] += dout[i];
}

constexpr double kGeluC = 0.7978845608028654;  // sqrt(2/pi)
template <typename T>
void gelu_forward(T* out, const T* x, int n) {
  for (int i = 0; i < n; ++i) {
    const double xi = double(x[i]);
    out[i] = T(0.5 * xi * (1.0 + std::tanh(kGeluC * (xi + 0.044715 * xi * xi * xi))));
  }
}
template <typename T>
void gelu_backward(T* dx, const T* dout, const T* x, int n) {
  for (int i = 0; i < n; ++i) {
    const double xi = double(x[i]);
    const double th = std::tanh(kGeluC * (xi + 0.044715 * xi * xi * xi));
    const double g = 0.5 * (1.0 + th) + 0.5 * xi * (1.0 - th * th) * kGeluC * (1.0 + 3.0 * 0.044715 * xi * xi);
    dx[i] += T(double(dout[i]) * g);
  }
}

template <typename T>
void residual_forward(T* out, const T* a, const T* b, int n) {
  for (int i = 0; i < n; ++i) out[i] = T(double(a[i]) + double(b[i]));
}
template <typename T>
void residual_backward(T* da, T* db, const T* dout, int n) {
  if (da) for (int i = 0; i < n; ++i) da[i] += dout[i];
  if (db) for (int i = 0; i < n; ++i) db[i] += dout[i];
}

template <typename T>
void embedding_forward(T* out, const int32_t* ids, const T* table, int t, int vocab, int d) {
  for (int r = 0; r < t; ++r) {
    assert(ids[r] >= 0 && ids[r] < vocab);
    (void)vocab;
    for (int c = 0; c < d; ++c) out[size_t(r) * d + c] = table[size_t(ids[r]) * d + c];
  }
}
// dtable[id] += sum of the dout rows with that id (summed in double per id, then added once).
template <typename T>
void embedding_backward(T* dtable, const T* dout, const int32_t* ids, int t, int vocab, int d) {
  std::vector<double> acc(d);
  std::vector<bool> done(vocab, false);
  for (int r = 0; r < t; ++r) {
    const int id = ids[r];
    if (done[id]) continue;
    done[id] = true;
    std::fill(acc.begin(), acc.end(), 0.0);
    for (int r2 = r; r2 < t; ++r2)
      if (ids[r2] == id)
        for (int c = 0; c < d; ++c) acc[c] += double(dout[size_t(r2) * d + c]);
    for (int c = 0; c < d; ++c) dtable[size_t(id) * d + c] += T(acc[c]);
  }
}

// losses [T], row_max [T], row_sum [T] (saved); returns the mean over rows not ignored.
//   m = max_v z_v; l = sum_v exp(z_v - m); loss = m + log l - z_target
template <typename T>
double cross_entropy_forward(T* losses, T* row_max, T* row_sum, const T* logits, const int32_t* targets, int t,
                             int vocab, int32_t ignore_index) {
  double total = 0.0;
  int count = 0;
  for (int r = 0; r < t; ++r) {
    const T* z = logits + size_t(r) * vocab;
    double m = -INFINITY;
    for (int c = 0; c < vocab; ++c) m = std::max(m, double(z[c]));
    double l = 0.0;
    for (int c = 0; c < vocab; ++c) l += std::exp(double(z[c]) - m);
    if (row_max) row_max[r] = T(m);
    if (row_sum) row_sum[r] = T(l);
    double loss = 0.0;
    if (targets[r] != ignore_index) {
      assert(targets[r] >= 0 && targets[r] < vocab);
      loss = m + std::log(l) - double(z[targets[r]]);
      total += loss;
      ++count;
    }
    if (losses) losses[r] = T(loss);
  }
  return count > 0 ? total / count : 0.0;
}
// dlogits_tv += dloss / C (softmax(z_t)_v - [v == target_t]), rows not ignored only (C of them). The
// reference recomputes the softmax in double from the logits.
template <typename T>
void cross_entropy_backward(T* dlogits, double dloss, const T* logits, const int32_t* targets, int t, int vocab,
                            int32_t ignore_index) {
  int count = 0;
  for (int r = 0; r < t; ++r) count += targets[r] != ignore_index;
  if (count == 0) return;
  const double g = dloss / count;
  for (int r = 0; r < t; ++r) {
    if (targets[r] == ignore_index) continue;
    const T* z = logits + size_t(r) * vocab;
    double m = -INFINITY;
    for (int c = 0; c < vocab; ++c) m = std::max(m, double(z[c]));
    double l = 0.0;
    for (int c = 0; c < vocab; ++c) l += std::exp(double(z[c]) - m);
    for (int c = 0; c < vocab; ++c) {
      const double p = std::exp(double(z[c]) - m) / l;
      dlogits[size_t(r) * vocab + c] += T(g * (p - (c == targets[r] ? 1.0 : 0.0)));
    }
  }
}

// ---- the multi-head layer, composed of the references above ----

template <typename T>
struct DenseT {
  const T* W = nullptr;
  const T* b = nullptr;
};
template <typename T>
struct MultiHeadParamsT {
  DenseT<T> q, k, v, o;
};
template <typename T>
struct DenseGradsT {
  T* dW = nullptr;
  T* db = nullptr;
};
template <typename T>
struct MultiHeadGradsT {
  DenseGradsT<T> q, k, v, o;
};

// dst [H][T][Dh] <- src [T][M]; merge is the inverse.
template <typename T>
void split_heads(T* dst, const T* src, int t_count, int m, int heads) {
  const int dh = m / heads;
  for (int h = 0; h < heads; ++h)
    for (int t = 0; t < t_count; ++t)
      for (int c = 0; c < dh; ++c) dst[(size_t(h) * t_count + t) * dh + c] = src[size_t(t) * m + h * dh + c];
}
template <typename T>
void merge_heads(T* dst, const T* src, int t_count, int m, int heads) {
  const int dh = m / heads;
  for (int h = 0; h < heads; ++h)
    for (int t = 0; t < t_count; ++t)
      for (int c = 0; c < dh; ++c) dst[size_t(t) * m + h * dh + c] = src[(size_t(h) * t_count + t) * dh + c];
}

// out [Tq][M]; saved: Q, K, V, O [H][T][Dh], row_max, row_sum [H][Tq] (attn/backward.h's layout).
template <typename T>
void multi_head_forward(T* out, T* saved, const T* x, const T* context, const MultiHeadParamsT<T>& p,
                        const ScoreParamsT<T>& score, const MaskParams& mask, int nq, int nk, int m, int heads) {
  const int dh = m / heads;
  T* Q = saved;
  T* K = Q + size_t(nq) * m;
  T* V = K + size_t(nk) * m;
  T* O = V + size_t(nk) * m;
  T* rmax = O + size_t(nq) * m;
  T* rsum = rmax + size_t(heads) * nq;
  std::vector<T> proj(size_t(std::max(nq, nk)) * m);
  dense_forward(proj.data(), x, p.q.W, p.q.b, nq, m, m);
  split_heads(Q, proj.data(), nq, m, heads);
  dense_forward(proj.data(), context, p.k.W, p.k.b, nk, m, m);
  split_heads(K, proj.data(), nk, m, heads);
  dense_forward(proj.data(), context, p.v.W, p.v.b, nk, m, m);
  split_heads(V, proj.data(), nk, m, heads);
  attention_forward(O, rmax, rsum, Q, K, V, score, mask, heads, nq, nk, dh, dh);
  merge_heads(proj.data(), O, nq, m, heads);
  dense_forward(out, proj.data(), p.o.W, p.o.b, nq, m, m);
}

template <typename T>
void multi_head_backward(T* dx, T* dcontext, const MultiHeadGradsT<T>& g, const ScoreGradsT<T>& dscore, const T* dout,
                         const T* saved, const T* x, const T* context, const MultiHeadParamsT<T>& p,
                         const ScoreParamsT<T>& score, const MaskParams& mask, int nq, int nk, int m, int heads) {
  const int dh = m / heads;
  const T* Q = saved;
  const T* K = Q + size_t(nq) * m;
  const T* V = K + size_t(nk) * m;
  const T* O = V + size_t(nk) * m;
  std::vector<T> concat(size_t(nq) * m), dconcat(size_t(nq) * m, T(0)), dO(size_t(nq) * m);
  merge_heads(concat.data(), O, nq, m, heads);  // pass 1
  dense_backward(dconcat.data(), g.o.dW, g.o.db, dout, concat.data(), p.o.W, nq, m, m);
  split_heads(dO.data(), dconcat.data(), nq, m, heads);  // pass 2
  std::vector<T> dQ(size_t(nq) * m, T(0)), dK(size_t(nk) * m, T(0)), dV(size_t(nk) * m, T(0));
  attention_backward(dQ.data(), dK.data(), dV.data(), dscore, dO.data(), Q, K, V, score, mask, heads, nq, nk, dh, dh);
  std::vector<T> merged(size_t(std::max(nq, nk)) * m);  // pass 3
  merge_heads(merged.data(), dQ.data(), nq, m, heads);
  dense_backward(dx, g.q.dW, g.q.db, merged.data(), x, p.q.W, nq, m, m);
  merge_heads(merged.data(), dK.data(), nk, m, heads);
  dense_backward(dcontext, g.k.dW, g.k.db, merged.data(), context, p.k.W, nk, m, m);
  merge_heads(merged.data(), dV.data(), nk, m, heads);
  dense_backward(dcontext, g.v.dW, g.v.db, merged.data(), context, p.v.W, nk, m, m);
}

}  // namespace attn::reference
