// The floor: the same computations and their hand-derived gradients in plain C++ / raw cblas,
// with no framework at all. escape()/clobber() keep the compiler from skipping or hoisting work.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "harness.hpp"
#include "workloads.hpp"

namespace bench {
const char* const kSide = "floor";
std::vector<std::pair<std::string, std::string>> side_info() { return {}; }

BENCH_SIDE(tiny_graph) {
  float a[3], b[3], ga[3], gb[3], y = 0;
  std::copy(tiny_graph::a, tiny_graph::a + 3, a);
  std::copy(tiny_graph::b, tiny_graph::b + 3, b);
  auto step = [&] {
    escape(a);  // a, b may have changed: reload them
    escape(b);
    float s = 0;
    for (int i = 0; i < 3; ++i) s += a[i] * b[i] + a[i];
    y = s;
    for (int i = 0; i < 3; ++i) {  // y = Σ(a·b + a), seed 1: dy/da = b + 1, dy/db = a
      ga[i] = b[i] + 1.0f;
      gb[i] = a[i];
    }
    escape(ga);  // the results are observed
    escape(gb);
    escape(&y);
  };
  Result r = time_it(step, opt);
  r.check.push_back(y);
  r.check.insert(r.check.end(), ga, ga + 3);
  r.check.insert(r.check.end(), gb, gb + 3);
  return r;
}

BENCH_SIDE(matmul_fb) {
  const int n = static_cast<int>(matmul_fb::n);
  const std::size_t nn = matmul_fb::n * matmul_fb::n;
  std::vector<float> A(nn), B(nn), G(nn), C(nn), dA(nn), dB(nn);
  fill_uniform(A.data(), nn, matmul_fb::seed_a);
  fill_uniform(B.data(), nn, matmul_fb::seed_b);
  fill_uniform(G.data(), nn, matmul_fb::seed_g);
  auto step = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A.data(), n, B.data(), n,
                0.0f, C.data(), n);  // C = A·B
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, G.data(), n, B.data(), n,
                0.0f, dA.data(), n);  // dA = G·Bᵀ
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, n, 1.0f, A.data(), n, G.data(), n,
                0.0f, dB.data(), n);  // dB = Aᵀ·G
    clobber();
  };
  Result r = time_it(step, opt);
  append_checksums(r.check, C.data(), nn);
  append_checksums(r.check, dA.data(), nn);
  append_checksums(r.check, dB.data(), nn);
  return r;
}

// ---- seed_sgd: scalar forward, backward and update of the 3-16-1 net -------------------------------
namespace {
struct SeedFloor {
  static constexpr std::size_t H = seed_sgd::hidden, I = seed_sgd::in;
  float w1[H][I], b1[H], w2[H], b2;  // w1 [out, in] like LayerInit
  const seed_sgd::Data& d;
  std::size_t row = 0;
  SeedFloor(const seed_sgd::Data& data, const std::vector<LayerInit>& init) : d(data) {
    for (std::size_t h = 0; h < H; ++h) {
      for (std::size_t i = 0; i < I; ++i) w1[h][i] = init[0].w[h * I + i];
      b1[h] = init[0].b[h];
      w2[h] = init[1].w[h];
    }
    b2 = init[1].b[0];
  }
  float step() {
    const float* x = &d.x[row * I];
    const float t = d.t[row];
    float a[H], y = b2;
    for (std::size_t h = 0; h < H; ++h) {  // a = σ(W1·x + b1), y = w2·a + b2
      float z = b1[h];
      for (std::size_t i = 0; i < I; ++i) z += w1[h][i] * x[i];
      a[h] = 1.0f / (1.0f + std::exp(-z));
      y += w2[h] * a[h];
    }
    const float e = y - t, dy = 2.0f * e;  // loss e², dloss/dy = 2e
    const float lr = seed_sgd::lr;
    for (std::size_t h = 0; h < H; ++h) {  // dz = dy·w2·σ'(z) with the pre-update w2
      const float dz = dy * w2[h] * a[h] * (1.0f - a[h]);
      w2[h] -= lr * dy * a[h];
      for (std::size_t i = 0; i < I; ++i) w1[h][i] -= lr * dz * x[i];
      b1[h] -= lr * dz;
    }
    b2 -= lr * dy;
    row = (row + 1) % seed_sgd::rows;
    return e * e;
  }
  void append(std::vector<double>& out) const {
    append_checksums(out, &w1[0][0], H * I);
    append_checksums(out, b1, H);
    append_checksums(out, w2, H);
    append_checksums(out, &b2, 1);
  }
};
}  // namespace

BENCH_SIDE(seed_sgd) {
  const seed_sgd::Data data = seed_sgd::make_data();
  const std::vector<LayerInit> init = seed_sgd::make_init();
  SeedFloor timed(data, init);
  Result r = time_it(
      [&] {
        escape(&timed);  // the weights may have changed: reload them
        timed.step();
        escape(&timed);
      },
      opt);
  SeedFloor net(data, init);
  double first = 0, last = 0;
  for (std::size_t e = 0; e < seed_sgd::epochs; ++e) {
    double s = 0;
    for (std::size_t k = 0; k < seed_sgd::rows; ++k) s += net.step();
    if (e == 0) first = s / seed_sgd::rows;
    last = s / seed_sgd::rows;
  }
  r.check = {first, last};
  net.append(r.check);
  return r;
}

// ---- mlp_*: ReLU MLP, softmax cross-entropy, SGD momentum, with raw sgemm into fixed buffers ----------
namespace {
struct MlpFloor {
  struct Layer {
    int in, out;
    std::vector<float> w, b, dw, db, vw, vb;  // w, dw, vw [out, in]; v: momentum buffers
    std::vector<float> y, dy;                 // this layer's output and its gradient [B, out]
  };
  std::vector<Layer> L;
  int B;
  const mlp::Data& d;
  std::size_t k = 0;
  MlpFloor(const mlp::Spec& s, const mlp::Data& data) : B(static_cast<int>(s.batch)), d(data) {
    for (const LayerInit& li : mlp_init(s.sizes, s.seed)) {
      Layer l;
      l.in = static_cast<int>(li.in);
      l.out = static_cast<int>(li.out);
      l.w = li.w;
      l.b = li.b;
      l.dw.assign(li.w.size(), 0.0f);
      l.vw.assign(li.w.size(), 0.0f);
      l.db.assign(li.b.size(), 0.0f);
      l.vb.assign(li.b.size(), 0.0f);
      l.y.assign(s.batch * li.out, 0.0f);
      l.dy.assign(s.batch * li.out, 0.0f);
      L.push_back(std::move(l));
    }
  }
  float step() {
    const float* x0 = d.x[k].data();
    const std::vector<std::size_t>& lab = d.label[k];
    const std::size_t n = L.size();
    // forward: y_l = relu(y_{l-1}·W_lᵀ + b_l), the last layer without relu
    for (std::size_t l = 0; l < n; ++l) {
      Layer& c = L[l];
      const float* x = l == 0 ? x0 : L[l - 1].y.data();
      for (int r = 0; r < B; ++r) std::copy(c.b.begin(), c.b.end(), c.y.begin() + r * c.out);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, c.out, c.in, 1.0f, x, c.in, c.w.data(),
                  c.in, 1.0f, c.y.data(), c.out);
      if (l + 1 < n)
        for (float& v : c.y) v = v > 0.0f ? v : 0.0f;
    }
    // loss = mean_r (logsumexp(z_r) - z_r[label]); dz = (softmax(z) - onehot) / B
    Layer& top = L.back();
    const int C = top.out;
    double loss = 0;
    for (int r = 0; r < B; ++r) {
      const float* z = &top.y[r * C];
      float* g = &top.dy[r * C];
      float m = z[0];
      for (int c = 1; c < C; ++c) m = std::max(m, z[c]);
      float s = 0;
      for (int c = 0; c < C; ++c) s += (g[c] = std::exp(z[c] - m));
      const float lse = m + std::log(s);
      loss += lse - z[lab[r]];
      const float inv = 1.0f / (s * static_cast<float>(B));
      for (int c = 0; c < C; ++c) g[c] *= inv;
      g[lab[r]] -= 1.0f / static_cast<float>(B);
    }
    // backward: dW_l = dy_lᵀ·x_l, db_l = Σ_rows dy_l, dy_{l-1} = (dy_l·W_l) ⊙ [y_{l-1} > 0]
    for (std::size_t l = n; l-- > 0;) {
      Layer& c = L[l];
      const float* x = l == 0 ? x0 : L[l - 1].y.data();
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c.out, c.in, B, 1.0f, c.dy.data(), c.out, x,
                  c.in, 0.0f, c.dw.data(), c.in);
      std::fill(c.db.begin(), c.db.end(), 0.0f);
      for (int r = 0; r < B; ++r)
        for (int o = 0; o < c.out; ++o) c.db[o] += c.dy[r * c.out + o];
      if (l > 0) {
        Layer& p = L[l - 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, c.in, c.out, 1.0f, c.dy.data(), c.out,
                    c.w.data(), c.in, 0.0f, p.dy.data(), c.in);
        for (std::size_t i = 0; i < p.dy.size(); ++i)  // a select, not a branch: vectorises
          p.dy[i] = p.y[i] > 0.0f ? p.dy[i] : 0.0f;
      }
    }
    // SGD momentum: v = μ·v + g (v starts at 0, so v = g at the first step); p -= lr·v
    for (Layer& c : L) {
      for (std::size_t i = 0; i < c.w.size(); ++i) {
        c.vw[i] = mlp::momentum * c.vw[i] + c.dw[i];
        c.w[i] -= mlp::lr * c.vw[i];
      }
      for (std::size_t i = 0; i < c.b.size(); ++i) {
        c.vb[i] = mlp::momentum * c.vb[i] + c.db[i];
        c.b[i] -= mlp::lr * c.vb[i];
      }
    }
    k = (k + 1) % mlp::batches;
    return static_cast<float>(loss / B);
  }
};

Result run_mlp(const mlp::Spec& s, const Options& opt) {
  const mlp::Data data = mlp::make_data(s);
  Result r;
  {
    MlpFloor timed(s, data);
    r = time_it([&] { timed.step(); clobber(); }, opt);
  }
  MlpFloor net(s, data);
  double first = 0, last = 0;
  for (std::size_t i = 0; i < mlp::check_steps; ++i) {
    last = net.step();
    if (i == 0) first = last;
  }
  r.check = {first, last};
  for (const auto& l : net.L) {
    append_checksums(r.check, l.w.data(), l.w.size());
    append_checksums(r.check, l.b.data(), l.b.size());
  }
  return r;
}
}  // namespace

BENCH_SIDE(mlp_digits_b32) { return run_mlp(mlp::digits(32), opt); }
BENCH_SIDE(mlp_digits_b512) { return run_mlp(mlp::digits(512), opt); }
BENCH_SIDE(mlp_mnist_b32) { return run_mlp(mlp::mnist(32), opt); }
BENCH_SIDE(mlp_mnist_b512) { return run_mlp(mlp::mnist(512), opt); }

// ---- convolution by im2col + sgemm (stride 1, square kernel k, padding pad on every side) ------------
// cols [C·k·k, OH·OW] of one image [C, H, W], OH = H + 2·pad - k + 1 (likewise OW): row (c·k + i)·k + j,
// column oh·OW + ow holds x[c, oh + i - pad, ow + j - pad] (0 outside the image).
namespace {
struct Geom {
  int C, H, W, k, pad;
  int oh() const { return H + 2 * pad - k + 1; }
  int ow() const { return W + 2 * pad - k + 1; }
  int rows() const { return C * k * k; }
  int cols() const { return oh() * ow(); }
};
void im2col(const Geom& g, const float* x, float* col) {
  const int OH = g.oh(), OW = g.ow();
  for (int c = 0; c < g.C; ++c)
    for (int i = 0; i < g.k; ++i)
      for (int j = 0; j < g.k; ++j, col += OH * OW)
        for (int oh = 0; oh < OH; ++oh) {
          const int ih = oh + i - g.pad;
          float* out = col + oh * OW;
          if (ih < 0 || ih >= g.H) {
            std::fill(out, out + OW, 0.0f);
            continue;
          }
          const float* in = x + (c * g.H + ih) * g.W;
          const int lo = std::max(0, g.pad - j), hi = std::min(OW, g.W + g.pad - j);  // ow with iw in range
          std::fill(out, out + lo, 0.0f);
          std::copy(in + lo + j - g.pad, in + hi + j - g.pad, out + lo);
          std::fill(out + hi, out + OW, 0.0f);
        }
}
// The adjoint: x [C, H, W] = the sum of col's entries at the positions im2col read them from.
void col2im(const Geom& g, const float* col, float* x) {
  const int OH = g.oh(), OW = g.ow();
  std::fill(x, x + g.C * g.H * g.W, 0.0f);
  for (int c = 0; c < g.C; ++c)
    for (int i = 0; i < g.k; ++i)
      for (int j = 0; j < g.k; ++j, col += OH * OW)
        for (int oh = 0; oh < OH; ++oh) {
          const int ih = oh + i - g.pad;
          if (ih < 0 || ih >= g.H) continue;
          float* out = x + (c * g.H + ih) * g.W + j - g.pad;
          const float* in = col + oh * OW;
          const int lo = std::max(0, g.pad - j), hi = std::min(OW, g.W + g.pad - j);
          for (int ow = lo; ow < hi; ++ow) out[ow] += in[ow];
        }
}
}  // namespace

// ---- lenet_*, convdigits_*: the whole network by hand --------------------------------------------
// Per conv layer (im2col + sgemm per image, cols kept for dW), ReLU, 2×2 max pooling (the gradient
// goes to the first maximum of each window in row-major order, as PyTorch and tapegrad), then the
// MLP floor's dense layers, softmax cross-entropy and SGD momentum.
namespace {
struct CnnFloor {
  struct Conv {
    Geom g;
    int out;
    std::vector<float> w, b, dw, db, vw, vb;  // w [out, C·k·k]
    std::vector<float> cols;                  // [B][C·k·k, OH·OW]
    std::vector<float> z;                     // [B, out, OH, OW]: relu(conv), in place
    std::vector<float> a;                     // [B, out, OH/2, OW/2]: pooled
    std::vector<int> arg;                     // per pooled value: its index in z
    std::vector<float> dz, da, dcols;         // gradients of z and a; dcols one image
  };
  struct Dense {
    int in, out;
    std::vector<float> w, b, dw, db, vw, vb, y, dy;  // w [out, in]; y, dy [B, out]
  };
  std::vector<Conv> conv;
  std::vector<Dense> fc;
  int B;
  const mlp::Data& d;
  std::size_t k = 0;
  CnnFloor(const cnn::Spec& s, const mlp::Data& data) : B(static_cast<int>(s.batch)), d(data) {
    const cnn::Init init = cnn::make_init(s);
    int C = static_cast<int>(s.channels), H = static_cast<int>(s.height), W = static_cast<int>(s.width);
    for (const ConvInit& ci : init.conv) {
      Conv c;
      c.g = {C, H, W, static_cast<int>(ci.k), static_cast<int>(ci.pad)};
      c.out = static_cast<int>(ci.out);
      c.w = ci.w;
      c.b = ci.b;
      c.dw.assign(c.w.size(), 0.0f);
      c.vw.assign(c.w.size(), 0.0f);
      c.db.assign(c.b.size(), 0.0f);
      c.vb.assign(c.b.size(), 0.0f);
      const std::size_t P = static_cast<std::size_t>(c.g.cols()), pooled = P / 4;
      c.cols.assign(static_cast<std::size_t>(B) * c.g.rows() * P, 0.0f);
      c.z.assign(static_cast<std::size_t>(B) * c.out * P, 0.0f);
      c.dz.assign(c.z.size(), 0.0f);
      c.a.assign(static_cast<std::size_t>(B) * c.out * pooled, 0.0f);
      c.da.assign(c.a.size(), 0.0f);
      c.arg.assign(c.a.size(), 0);
      c.dcols.assign(static_cast<std::size_t>(c.g.rows()) * P, 0.0f);
      C = c.out;
      H = c.g.oh() / 2;
      W = c.g.ow() / 2;
      conv.push_back(std::move(c));
    }
    for (const LayerInit& li : init.dense) {
      Dense l;
      l.in = static_cast<int>(li.in);
      l.out = static_cast<int>(li.out);
      l.w = li.w;
      l.b = li.b;
      l.dw.assign(l.w.size(), 0.0f);
      l.vw.assign(l.w.size(), 0.0f);
      l.db.assign(l.b.size(), 0.0f);
      l.vb.assign(l.b.size(), 0.0f);
      l.y.assign(static_cast<std::size_t>(B) * l.out, 0.0f);
      l.dy.assign(l.y.size(), 0.0f);
      fc.push_back(std::move(l));
    }
  }
  static void sgd(std::vector<float>& p, std::vector<float>& v, const std::vector<float>& g) {
    for (std::size_t i = 0; i < p.size(); ++i) {  // v = μ·v + g (v = g at the first step), p -= lr·v
      v[i] = cnn::momentum * v[i] + g[i];
      p[i] -= cnn::lr * v[i];
    }
  }
  float step() {
    // ---- forward
    const float* in = d.x[k].data();
    for (Conv& c : conv) {
      const int P = c.g.cols(), K = c.g.rows(), OH = c.g.oh(), OW = c.g.ow(), PH = OH / 2, PW = OW / 2;
      const std::size_t in_size = static_cast<std::size_t>(c.g.C) * c.g.H * c.g.W;
      for (int n = 0; n < B; ++n) {
        float* col = &c.cols[static_cast<std::size_t>(K) * P * n];
        float* z = &c.z[static_cast<std::size_t>(c.out) * P * n];
        im2col(c.g, in + in_size * n, col);
        for (int o = 0; o < c.out; ++o) std::fill(z + o * P, z + (o + 1) * P, c.b[o]);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c.out, P, K, 1.0f, c.w.data(), K, col, P, 1.0f, z, P);
      }
      for (float& v : c.z) v = v > 0.0f ? v : 0.0f;
      for (int m = 0; m < B * c.out; ++m)  // 2×2 max pooling, stride 2, of each channel plane
        for (int ph = 0; ph < PH; ++ph)
          for (int pw = 0; pw < PW; ++pw) {
            int best = m * P + 2 * ph * OW + 2 * pw;
            for (int i = 0; i < 2; ++i)
              for (int j = 0; j < 2; ++j) {
                const int idx = m * P + (2 * ph + i) * OW + 2 * pw + j;
                if (c.z[idx] > c.z[best]) best = idx;
              }
            const int o = (m * PH + ph) * PW + pw;
            c.arg[o] = best;
            c.a[o] = c.z[best];
          }
      in = c.a.data();
    }
    const std::size_t n_fc = fc.size();
    for (std::size_t l = 0; l < n_fc; ++l) {
      Dense& c = fc[l];
      const float* x = l == 0 ? in : fc[l - 1].y.data();
      for (int r = 0; r < B; ++r) std::copy(c.b.begin(), c.b.end(), c.y.begin() + r * c.out);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, c.out, c.in, 1.0f, x, c.in, c.w.data(), c.in, 1.0f,
                  c.y.data(), c.out);
      if (l + 1 < n_fc)
        for (float& v : c.y) v = v > 0.0f ? v : 0.0f;
    }
    // ---- loss = mean_r (logsumexp(z_r) - z_r[label]); dz = (softmax(z) - onehot) / B
    const std::vector<std::size_t>& lab = d.label[k];
    Dense& top = fc.back();
    const int C = top.out;
    double loss = 0;
    for (int r = 0; r < B; ++r) {
      const float* z = &top.y[r * C];
      float* g = &top.dy[r * C];
      float m = z[0];
      for (int c = 1; c < C; ++c) m = std::max(m, z[c]);
      float s = 0;
      for (int c = 0; c < C; ++c) s += (g[c] = std::exp(z[c] - m));
      loss += m + std::log(s) - z[lab[r]];
      const float inv = 1.0f / (s * static_cast<float>(B));
      for (int c = 0; c < C; ++c) g[c] *= inv;
      g[lab[r]] -= 1.0f / static_cast<float>(B);
    }
    // ---- backward through the dense layers; the first one's input gradient is the last pool's da
    for (std::size_t l = n_fc; l-- > 0;) {
      Dense& c = fc[l];
      const float* x = l == 0 ? conv.back().a.data() : fc[l - 1].y.data();
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c.out, c.in, B, 1.0f, c.dy.data(), c.out, x, c.in, 0.0f,
                  c.dw.data(), c.in);
      std::fill(c.db.begin(), c.db.end(), 0.0f);
      for (int r = 0; r < B; ++r)
        for (int o = 0; o < c.out; ++o) c.db[o] += c.dy[r * c.out + o];
      float* dx = l == 0 ? conv.back().da.data() : fc[l - 1].dy.data();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, c.in, c.out, 1.0f, c.dy.data(), c.out, c.w.data(),
                  c.in, 0.0f, dx, c.in);
      if (l > 0)
        for (std::size_t i = 0; i < fc[l - 1].dy.size(); ++i) dx[i] = fc[l - 1].y[i] > 0.0f ? dx[i] : 0.0f;
    }
    // ---- backward through the conv layers: pool (scatter to the argmax), ReLU, conv
    for (std::size_t l = conv.size(); l-- > 0;) {
      Conv& c = conv[l];
      const int P = c.g.cols(), K = c.g.rows();
      std::fill(c.dz.begin(), c.dz.end(), 0.0f);
      for (std::size_t o = 0; o < c.a.size(); ++o) c.dz[c.arg[o]] += c.da[o];
      for (std::size_t i = 0; i < c.dz.size(); ++i) c.dz[i] = c.z[i] > 0.0f ? c.dz[i] : 0.0f;
      std::fill(c.db.begin(), c.db.end(), 0.0f);
      const std::size_t in_size = static_cast<std::size_t>(c.g.C) * c.g.H * c.g.W;
      for (int n = 0; n < B; ++n) {
        const float* dzn = &c.dz[static_cast<std::size_t>(c.out) * P * n];
        for (int o = 0; o < c.out; ++o) {
          float s = 0;
          for (int p = 0; p < P; ++p) s += dzn[o * P + p];
          c.db[o] += s;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c.out, K, P, 1.0f, dzn, P,
                    &c.cols[static_cast<std::size_t>(K) * P * n], P, n == 0 ? 0.0f : 1.0f, c.dw.data(), K);
        if (l > 0) {  // the input gradient is the previous layer's da
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, c.out, 1.0f, c.w.data(), K, dzn, P, 0.0f,
                      c.dcols.data(), P);
          col2im(c.g, c.dcols.data(), &conv[l - 1].da[in_size * n]);
        }
      }
    }
    for (Conv& c : conv) {
      sgd(c.w, c.vw, c.dw);
      sgd(c.b, c.vb, c.db);
    }
    for (Dense& c : fc) {
      sgd(c.w, c.vw, c.dw);
      sgd(c.b, c.vb, c.db);
    }
    k = (k + 1) % mlp::batches;
    return static_cast<float>(loss / B);
  }
};

Result run_cnn(const cnn::Spec& s, const Options& opt) {
  const mlp::Data data = cnn::make_data(s);
  Result r;
  {
    CnnFloor timed(s, data);
    r = time_it([&] { timed.step(); clobber(); }, opt);
  }
  CnnFloor net(s, data);
  double first = 0, last = 0;
  for (std::size_t i = 0; i < mlp::check_steps; ++i) {
    last = net.step();
    if (i == 0) first = last;
  }
  r.check = {first, last};
  for (const auto& c : net.conv) {
    append_checksums(r.check, c.w.data(), c.w.size());
    append_checksums(r.check, c.b.data(), c.b.size());
  }
  for (const auto& l : net.fc) {
    append_checksums(r.check, l.w.data(), l.w.size());
    append_checksums(r.check, l.b.data(), l.b.size());
  }
  return r;
}
}  // namespace

BENCH_SIDE(lenet_b32) { return run_cnn(cnn::lenet(32), opt); }
BENCH_SIDE(lenet_b256) { return run_cnn(cnn::lenet(256), opt); }
BENCH_SIDE(convdigits_b1) { return run_cnn(cnn::digits(1), opt); }
BENCH_SIDE(convdigits_b64) { return run_cnn(cnn::digits(64), opt); }

// ---- conv_layer: im2col + sgemm, one image at a time (Caffe's scheme) ---------------------------------
// Per image n, with K = C·k·k rows of cols_n [K, H·W]:
//   forward   y_n = W [Co, K] · cols_n + b
//   backward  dW = Σ_n g_n · cols_nᵀ,  db = Σ_{n, pixels} g_n,  dcols = Wᵀ · g_n, dx_n = col2im(dcols)
// cols of every image are kept from the forward pass for dW (no second im2col), as a framework would.
namespace {
struct ConvFloor {
  static constexpr int N = conv_layer::n, C = conv_layer::c, H = conv_layer::h, W = conv_layer::w,
                       k = conv_layer::k, pad = conv_layer::pad, K = C * k * k, P = H * W;
  static constexpr Geom geom{C, H, W, k, pad};
  const conv_layer::Data& d;
  std::vector<float> w, b, dw, db, y, dx, cols, dcols;
  explicit ConvFloor(const conv_layer::Data& data)
      : d(data), w(data.init.w), b(data.init.b), dw(w.size()), db(b.size()), y(std::size_t{N} * C * P),
        dx(std::size_t{N} * C * P), cols(std::size_t{N} * K * P), dcols(std::size_t{K} * P) {}
  void step() {
    const float* x = d.x.data();
    const float* g = d.g.data();
    for (int n = 0; n < N; ++n) {
      float* col = &cols[std::size_t{K} * P * n];
      float* yn = &y[std::size_t{C} * P * n];
      im2col(geom, x + std::size_t{C} * P * n, col);
      for (int o = 0; o < C; ++o) std::fill(yn + o * P, yn + (o + 1) * P, b[o]);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, C, P, K, 1.0f, w.data(), K, col, P, 1.0f, yn, P);
    }
    std::fill(db.begin(), db.end(), 0.0f);
    for (int n = 0; n < N; ++n) {
      const float* gn = g + std::size_t{C} * P * n;
      for (int o = 0; o < C; ++o) {
        float s = 0;
        for (int p = 0; p < P; ++p) s += gn[o * P + p];
        db[o] += s;
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, C, K, P, 1.0f, gn, P, &cols[std::size_t{K} * P * n], P,
                  n == 0 ? 0.0f : 1.0f, dw.data(), K);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, C, 1.0f, w.data(), K, gn, P, 0.0f, dcols.data(), P);
      col2im(geom, dcols.data(), &dx[std::size_t{C} * P * n]);
    }
    for (std::size_t i = 0; i < w.size(); ++i) w[i] -= conv_layer::lr * dw[i];
    for (std::size_t i = 0; i < b.size(); ++i) b[i] -= conv_layer::lr * db[i];
  }
};
}  // namespace

BENCH_SIDE(conv_layer) {
  const conv_layer::Data data = conv_layer::make_data();
  Result r;
  {
    ConvFloor timed(data);
    r = time_it([&] { timed.step(); clobber(); }, opt);
  }
  ConvFloor run(data);
  for (std::size_t i = 0; i < conv_layer::check_steps; ++i) run.step();
  append_checksums(r.check, run.y.data(), run.y.size());
  append_checksums(r.check, run.dx.data(), run.dx.size());
  append_checksums(r.check, run.w.data(), run.w.size());
  append_checksums(r.check, run.b.data(), run.b.size());
  return r;
}

// ---- lstm_*: a hand-written LSTM: cblas_sgemm for the matrix products, plain loops for the gates ----
// Forward: the input projection of every step in one GEMM, [T·B, H]·W_ihᵀ + (b_ih + b_hh), then per
// step A_t += h_{t-1}·W_hhᵀ and the gate loop. Backward through time with the gate derivatives in
// one loop per step and dh_{t-1} = dA_t·W_hh; the weight gradients of all steps at once afterwards,
// dW_hh = dAᵀ·[h_{-1} .. h_{T-2}] and dW_ih = dAᵀ·X (two GEMMs with K = T·B).
// The gate loops use the same branch-free e^v as tapegrad's fused gate kernels
// (autograd/src/ops/rnn.cpp, within 2 ulps; this file is built with -fno-trapping-math too, so the
// loops vectorize): the floor measures framework overhead, not the choice of libm (glibc's tanhf
// alone took a third of the step).
namespace {
inline float exp_f(float v) {
  const float x = v != v ? 0.0f : std::min(std::max(v, -87.0f), 88.0f);  // NaN: any finite x (no UB below)
  const float k = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = (x - k * 0.693145752f) - k * 1.42860677e-6f;
  float p = 1.0f / 5040;
  p = p * r + 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const std::int32_t bits = (static_cast<std::int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return v != v ? v : p * scale;
}
inline float sigm(float v) { return 1.0f / (1.0f + exp_f(-v)); }
inline float tanh_f(float v) {
  const float a = std::fabs(v), s = v * v;
  const float small =
      v * (1.0f + s * (-1.0f / 3 + s * (2.0f / 15 + s * (-17.0f / 315 + s * (62.0f / 2835 + s * (-1382.0f / 155925))))));
  const float e = exp_f(-2.0f * a);
  return a < 0.25f ? small : std::copysign((1.0f - e) / (1.0f + e), v);
}

struct LstmFloor {
  int T, B, H, G;                                  // G = 4H: gates i, f, g, o
  std::vector<float> p[4], grad[4], m[4], v[4];    // w_ih [G, H], w_hh [G, H], b_ih [G], b_hh [G]
  const std::vector<float>& x;                     // [T, B, H]
  const std::vector<float>& y;                     // [B, H]
  std::vector<float> act;                          // [T, B, G]: pre-activations, then σ(i) σ(f) tanh(g) σ(o)
  std::vector<float> c, h;                         // [T + 1, B, H]: index 0 holds the zero initial state
  std::vector<float> tc;                           // [T, B, H]: tanh(c_t)
  std::vector<float> da;                           // [T, B, G]: gradient of the pre-activations
  std::vector<float> dh, dc;                       // [B, H]
  long steps = 0;
  LstmFloor(const lstm::Spec& s, const lstm::Init& in)
      : T(static_cast<int>(s.seq)), B(static_cast<int>(s.batch)), H(static_cast<int>(s.hidden)), G(4 * H), x(in.x),
        y(in.y) {
    p[0] = in.w_ih;
    p[1] = in.w_hh;
    p[2] = in.b_ih;
    p[3] = in.b_hh;
    for (int k = 0; k < 4; ++k) {
      grad[k].assign(p[k].size(), 0.0f);
      m[k].assign(p[k].size(), 0.0f);
      v[k].assign(p[k].size(), 0.0f);
    }
    act.assign(static_cast<std::size_t>(T) * B * G, 0.0f);
    da.assign(act.size(), 0.0f);
    c.assign(static_cast<std::size_t>(T + 1) * B * H, 0.0f);
    h.assign(c.size(), 0.0f);
    tc.assign(static_cast<std::size_t>(T) * B * H, 0.0f);
    dh.assign(static_cast<std::size_t>(B) * H, 0.0f);
    dc.assign(dh.size(), 0.0f);
  }
  // The forward over the sequence: h[T] holds h_T afterwards.
  void forward() {
    const std::size_t BH = static_cast<std::size_t>(B) * H, BG = static_cast<std::size_t>(B) * G;
    for (int r = 0; r < T * B; ++r)
      for (int j = 0; j < G; ++j) act[static_cast<std::size_t>(r) * G + j] = p[2][j] + p[3][j];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T * B, G, H, 1.0f, x.data(), H, p[0].data(), H, 1.0f,
                act.data(), G);
    for (int t = 0; t < T; ++t) {
      float* a = &act[t * BG];
      const float* hp = &h[t * BH];
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, G, H, 1.0f, hp, H, p[1].data(), H, 1.0f, a, G);
      const float* cp = &c[t * BH];
      float* cn = &c[(t + 1) * BH];
      float* hn = &h[(t + 1) * BH];
      float* tct = &tc[t * BH];
      for (int b = 0; b < B; ++b) {
        float* ab = a + static_cast<std::size_t>(b) * G;
        for (int j = 0; j < H; ++j) {
          const float i = sigm(ab[j]), f = sigm(ab[H + j]), g = tanh_f(ab[2 * H + j]), o = sigm(ab[3 * H + j]);
          ab[j] = i;
          ab[H + j] = f;
          ab[2 * H + j] = g;
          ab[3 * H + j] = o;
          const std::size_t k = static_cast<std::size_t>(b) * H + j;
          cn[k] = f * cp[k] + i * g;
          tct[k] = tanh_f(cn[k]);
          hn[k] = o * tct[k];
        }
      }
    }
  }
  float step() {
    const std::size_t BH = static_cast<std::size_t>(B) * H, BG = static_cast<std::size_t>(B) * G;
    forward();
    // loss = mean((h_T - y)²), dh_T = 2(h_T - y)/(B·H)
    const float* hT = &h[T * BH];
    double loss = 0;
    const float scale = 2.0f / static_cast<float>(BH);
    for (std::size_t k = 0; k < BH; ++k) {
      const float e = hT[k] - y[k];
      loss += static_cast<double>(e) * e;
      dh[k] = scale * e;
      dc[k] = 0.0f;
    }
    // backward through time
    for (int t = T - 1; t >= 0; --t) {
      const float* a = &act[t * BG];
      float* d = &da[t * BG];
      const float* cp = &c[t * BH];
      const float* tct = &tc[t * BH];
      for (int b = 0; b < B; ++b) {
        const float* ab = a + static_cast<std::size_t>(b) * G;
        float* db = d + static_cast<std::size_t>(b) * G;
        for (int j = 0; j < H; ++j) {
          const std::size_t k = static_cast<std::size_t>(b) * H + j;
          const float i = ab[j], f = ab[H + j], g = ab[2 * H + j], o = ab[3 * H + j], tcv = tct[k];
          const float dcv = dc[k] + dh[k] * o * (1.0f - tcv * tcv);
          db[j] = dcv * g * i * (1.0f - i);
          db[H + j] = dcv * cp[k] * f * (1.0f - f);
          db[2 * H + j] = dcv * i * (1.0f - g * g);
          db[3 * H + j] = dh[k] * tcv * o * (1.0f - o);
          dc[k] = dcv * f;
        }
      }
      if (t > 0)  // dh_{t-1} = dA_t·W_hh
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, H, G, 1.0f, d, G, p[1].data(), H, 0.0f,
                    dh.data(), H);
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, T * B, 1.0f, da.data(), G, x.data(), H, 0.0f,
                grad[0].data(), H);  // dW_ih = dAᵀ·X
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, T * B, 1.0f, da.data(), G, h.data(), H, 0.0f,
                grad[1].data(), H);  // dW_hh = dAᵀ·[h_{-1} .. h_{T-2}]
    std::fill(grad[2].begin(), grad[2].end(), 0.0f);
    for (int r = 0; r < T * B; ++r)
      for (int j = 0; j < G; ++j) grad[2][j] += da[static_cast<std::size_t>(r) * G + j];
    grad[3] = grad[2];  // both biases add to the same pre-activation
    // Adam (PyTorch's form): p -= lr/bc1 · m / (√v/√bc2 + eps)
    ++steps;
    const float b1 = static_cast<float>(lstm::beta1), b2 = static_cast<float>(lstm::beta2);
    const float bc1 = static_cast<float>(1.0 - std::pow(lstm::beta1, static_cast<double>(steps)));
    const float sbc2 = static_cast<float>(std::sqrt(1.0 - std::pow(lstm::beta2, static_cast<double>(steps))));
    const float step_size = static_cast<float>(lstm::lr) / bc1, eps = static_cast<float>(lstm::eps);
    for (int k = 0; k < 4; ++k)
      for (std::size_t e = 0; e < p[k].size(); ++e) {
        const float g = grad[k][e];
        m[k][e] = b1 * m[k][e] + (1.0f - b1) * g;
        v[k][e] = b2 * v[k][e] + (1.0f - b2) * g * g;
        p[k][e] -= step_size * m[k][e] / (std::sqrt(v[k][e]) / sbc2 + eps);
      }
    return static_cast<float>(loss / static_cast<double>(BH));
  }
};

Result run_lstm(const lstm::Spec& s, const Options& opt) {
  const lstm::Init in = lstm::make_init(s);
  Result r;
  {
    LstmFloor timed(s, in);
    r = time_it([&] { timed.step(); clobber(); }, opt);
  }
  LstmFloor net(s, in);
  double first = 0, last = 0;
  for (std::size_t i = 0; i < lstm::check_steps; ++i) {
    last = net.step();
    if (i == 0) first = last;
  }
  r.check = {first, last};
  for (const auto& q : net.p) append_checksums(r.check, q.data(), q.size());
  return r;
}
}  // namespace

BENCH_SIDE(lstm_h32_t32_b1) { return run_lstm(lstm::h32_t32_b1(), opt); }
BENCH_SIDE(lstm_h128_t64_b32) { return run_lstm(lstm::h128_t64_b32(), opt); }
BENCH_SIDE(lstm_h512_t32_b64) { return run_lstm(lstm::h512_t32_b64(), opt); }
BENCH_SIDE(lstm_infer_h32_t32_b1) {
  const lstm::Spec s = lstm::h32_t32_b1();
  const lstm::Init in = lstm::make_init(s);
  LstmFloor net(s, in);
  Result r = time_it([&] { net.forward(); clobber(); }, opt);
  append_checksums(r.check, &net.h[s.seq * s.batch * s.hidden], s.batch * s.hidden);
  return r;
}

}  // namespace bench
