// Seeing what the tape does: the graph of one training step as text and as Graphviz DOT (rendered
// to SVG when `dot` is installed), a gradient hook, retain_grad, the profiler over a short
// training run, and anomaly mode catching a NaN with the op that made it.
//
//   inspect [output dir]      writes <dir>/step.dot (and step.svg with Graphviz: apt-get install graphviz)
// Exits non-zero when one of its checks fails.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include <ag/ag.hpp>
#include <ag/nn.hpp>

namespace nn = ag::nn;

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : ".";
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) {
      std::cerr << "inspect: check failed: " << what << "\n";
      ++failures;
    }
  };

  ag::Generator gen(7);
  nn::Sequential model(std::make_shared<nn::Dense>(3, 4, gen), std::make_shared<nn::Tanh>(),
                       std::make_shared<nn::Dense>(4, 2, gen));
  for (auto& [name, p] : model.named_parameters()) p.set_name(name);  // names show up in the graph
  ag::Tensor x = ag::tensor({{0.5, -1.0, 2.0}, {1.5, 0.25, -0.5}});
  x.set_name("x");
  ag::Tensor target = ag::tensor({{1.0, 0.0}, {0.0, 1.0}});
  target.set_name("target");

  // 1. The graph of one loss, as text and as DOT.
  ag::Tensor logits = model(x);
  logits.retain_grad();  // keep dloss/dlogits although logits is not a leaf
  ag::Tensor loss = nn::cross_entropy(logits, target);
  std::cout << "The graph of the loss:\n" << ag::graph_string(loss) << "\n";
  const std::string dot_path = dir + "/step.dot";
  {
    std::ofstream out(dot_path);
    out << ag::to_dot(loss);
    check(out.good(), "writing step.dot");
  }
  if (std::system("command -v dot > /dev/null 2>&1") == 0) {
    const std::string cmd = "dot -Tsvg '" + dot_path + "' -o '" + dir + "/step.svg'";
    check(std::system(cmd.c_str()) == 0, "dot -Tsvg");
    std::cout << "Wrote " << dot_path << " and " << dir << "/step.svg\n";
  } else {
    std::cout << "Wrote " << dot_path << " (install graphviz to render it: dot -Tsvg step.dot -o step.svg)\n";
  }

  // 2. A hook on the first layer's weight: observe its gradient's norm (and leave it unchanged).
  ag::Tensor w0 = model.named_parameters().front().second;
  double hook_norm = -1;
  const std::size_t hook = w0.register_hook([&](const ag::Tensor& g) {
    hook_norm = std::sqrt(ag::sum(ag::square(g)).item());
  });
  loss.backward();
  w0.remove_hook(hook);
  const double grad_norm = std::sqrt(ag::sum(ag::square(w0.grad())).item());
  std::cout << "\n|dloss/dW0| seen by the hook: " << hook_norm << " (in .grad: " << grad_norm << ")\n";
  check(hook_norm > 0 && std::abs(hook_norm - grad_norm) < 1e-6, "hook saw the gradient");
  // softmax cross-entropy: dloss/dlogits = (softmax(logits) - target) / rows, each row sums to 0
  const auto& gl = logits.grad().value<float>();
  std::cout << "dloss/dlogits (retained): " << logits.grad() << "\n";
  check(std::abs(gl(0, 0) + gl(0, 1)) < 1e-6 && std::abs(gl(1, 0) + gl(1, 1)) < 1e-6, "retained grad");

  // 3. Profile a short training run.
  nn::SGD sgd(model.parameters(), 0.1);
  ag::Profiler prof;
  for (int step = 0; step < 200; ++step) {
    sgd.zero_grad();
    ag::Tensor l = nn::cross_entropy(model(x), target);
    l.backward();
    sgd.step();
  }
  prof.stop();
  std::cout << "\nProfile of 200 training steps:\n" << prof.table();
  check(!prof.ops().empty() && prof.ops().front().forward_calls + prof.ops().front().backward_calls > 0,
        "profiler recorded ops");

  // 4. Anomaly mode: log of a negative number is NaN; the error names the op and its producer.
  {
    ag::DetectAnomalyGuard anomaly;
    ag::Tensor a = ag::tensor({1.0, 2.0}, ag::f32, true);
    a.set_name("a");
    try {
      ag::Tensor bad = ag::log(a - 1.5);  // log([-0.5, 0.5])
      check(false, "anomaly mode raised");
    } catch (const ag::AnomalyError& e) {
      std::cout << "\nAnomaly mode caught it:\n  " << e.what() << "\n";
      check(std::string(e.what()).find("'log'") != std::string::npos, "anomaly names the op");
    }
  }
  return failures == 0 ? 0 : 1;
}
