// The floor: the same computations and their hand-derived gradients in plain C++ / raw cblas,
// with no framework at all. escape()/clobber() keep the compiler from skipping or hoisting work.
#include <cblas.h>

#include <cmath>

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

}  // namespace bench
