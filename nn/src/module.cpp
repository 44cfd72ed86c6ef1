// Module: registration, recursive parameter and buffer walks, the call with its hooks, train/eval,
// dtype conversion, state dicts.

#include "ag/nn/module.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>
#include <variant>

#include <fmt/core.h>

namespace ag::nn {

// ---- hooks ----------------------------------------------------------------------------------------
struct HookHandle::Registry {
  std::size_t next_id = 1;
  std::vector<std::pair<std::size_t, ForwardPreHook>> pre;
  std::vector<std::pair<std::size_t, ForwardHook>> forward;
  std::vector<std::pair<std::size_t, BackwardHook>> backward;
  bool empty() const { return pre.empty() && forward.empty() && backward.empty(); }
};

namespace {
template <class V> bool erase_id(V& v, std::size_t id) {
  auto it = std::find_if(v.begin(), v.end(), [id](const auto& p) { return p.first == id; });
  if (it == v.end()) return false;
  v.erase(it);
  return true;
}
}  // namespace

void HookHandle::remove() {
  if (auto r = registry_.lock()) erase_id(r->pre, id_) || erase_id(r->forward, id_) || erase_id(r->backward, id_);
}

bool HookHandle::active() const {
  auto r = registry_.lock();
  if (!r) return false;
  auto has = [this](const auto& v) {
    return std::any_of(v.begin(), v.end(), [this](const auto& p) { return p.first == id_; });
  };
  return has(r->pre) || has(r->forward) || has(r->backward);
}

HookHandle Module::register_forward_pre_hook(ForwardPreHook hook) {
  if (!hooks_) hooks_ = std::make_shared<HookHandle::Registry>();
  const std::size_t id = hooks_->next_id++;
  hooks_->pre.emplace_back(id, std::move(hook));
  return HookHandle(hooks_, id);
}
HookHandle Module::register_forward_hook(ForwardHook hook) {
  if (!hooks_) hooks_ = std::make_shared<HookHandle::Registry>();
  const std::size_t id = hooks_->next_id++;
  hooks_->forward.emplace_back(id, std::move(hook));
  return HookHandle(hooks_, id);
}
HookHandle Module::register_full_backward_hook(BackwardHook hook) {
  if (!hooks_) hooks_ = std::make_shared<HookHandle::Registry>();
  const std::size_t id = hooks_->next_id++;
  hooks_->backward.emplace_back(id, std::move(hook));
  return HookHandle(hooks_, id);
}

namespace {

// One call's backward hooks: every input and output that takes part in autograd passes through
// an identity op whose VJP records the gradient it carries. The hooks run once the gradients of all
// such inputs have arrived (the engine reaches the inputs after the outputs), or, when no input
// requires grad (a first layer fed data), once those of all such outputs have.
struct BackwardCall {
  Module* module = nullptr;
  std::vector<BackwardHook> hooks;  // as registered when the call was made
  TensorList grad_in, grad_out;
  std::size_t ins = 0, outs = 0;      // how many inputs / outputs carry gradients
  std::size_t got_in = 0, got_out = 0;

  void fire_if_complete() {
    const bool done = ins > 0 ? got_in == ins : got_out == outs;
    if (!done) return;
    for (auto& h : hooks) h(*module, grad_in, grad_out);
    got_in = got_out = 0;  // a retained graph's next backward starts over
    for (auto& g : grad_in) g = Tensor();
    for (auto& g : grad_out) g = Tensor();
  }
};

// x's values as a fresh tensor recorded as identity, whose VJP hands g to `seen` first.
Tensor observed(const Tensor& x, std::function<void(const Tensor&)> seen) {
  return ag::record("module_hook", {x}, x.detach(), [seen = std::move(seen)](const VjpContext&, const Tensor& g) -> Grads {
    seen(g);
    return {g};
  });
}

bool carries_grad(const Tensor& t) { return t.defined() && t.requires_grad() && is_grad_enabled(); }

}  // namespace

TensorList Module::forward_list(const TensorList& inputs) {
  if (inputs.size() != 1)
    throw ValueError(fmt::format("{}: takes one tensor, got {} (a module taking several overrides forward_list)",
                                 describe(), inputs.size()));
  return TensorList{forward(inputs[0])};
}

Tensor Module::forward(const Tensor&) {
  throw ValueError(fmt::format("{}: has no single-tensor forward; call it through its own call operator "
                               "(it takes or returns several tensors)",
                               describe()));
}

TensorList Module::call(const TensorList& inputs_in) {
  const std::size_t want = num_inputs();
  if (want != 0 && inputs_in.size() != want)
    throw ValueError(fmt::format("{}: takes {} tensor{}, got {}{}", describe(), want, want == 1 ? "" : "s",
                                 inputs_in.size(),
                                 inputs_in.size() == 1 ? " (Sequential and operator() pass one; use its own call)" : ""));
  if (!hooks_ || hooks_->empty()) return forward_list(inputs_in);

  TensorList inputs = inputs_in;
  std::shared_ptr<HookHandle::Registry> reg = hooks_;  // alive across hooks that remove themselves
  if (reg) {
    const auto pre = reg->pre;  // a hook may register or remove hooks
    for (const auto& [id, h] : pre)
      if (auto r = h(*this, inputs)) inputs = std::move(*r);
  }
  std::shared_ptr<BackwardCall> bc;
  if (reg && !reg->backward.empty()) {
    bc = std::make_shared<BackwardCall>();
    bc->module = this;
    for (const auto& [id, h] : reg->backward) bc->hooks.push_back(h);
    bc->grad_in.resize(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!carries_grad(inputs[i])) continue;
      ++bc->ins;
      // the graph's nodes own the state (it holds no node, so no cycle)
      inputs[i] = observed(inputs[i], [bc, i](const Tensor& g) {
        bc->grad_in[i] = g;
        ++bc->got_in;
        bc->fire_if_complete();
      });
    }
  }

  TensorList outputs = forward_list(inputs);
  if (reg) {
    const auto fwd = reg->forward;
    for (const auto& [id, h] : fwd)
      if (auto r = h(*this, inputs, outputs)) outputs = std::move(*r);
  }
  if (bc) {
    bc->grad_out.resize(outputs.size());
    for (std::size_t j = 0; j < outputs.size(); ++j) {
      if (!carries_grad(outputs[j])) continue;
      ++bc->outs;
      outputs[j] = observed(outputs[j], [bc, j](const Tensor& g) {
        bc->grad_out[j] = g;
        ++bc->got_out;
        if (bc->ins == 0) bc->fire_if_complete();
      });
    }
  }
  return outputs;
}

Tensor Module::operator()(const Tensor& x) {
  TensorList out = call(TensorList{x});
  if (out.size() != 1)
    throw ValueError(fmt::format("{}: returned {} tensors where one was expected (Sequential and operator() "
                                 "chain single-tensor modules; use call())",
                                 describe(), out.size()));
  return out[0];
}

void Module::check_new_name(const std::string& name, bool defined) const {
  if (name.empty() || name.find('.') != std::string::npos)
    throw ValueError(fmt::format("{}: invalid name '{}' (must be non-empty and contain no '.')",
                                 type_name(), name));
  if (!defined) throw ValueError(fmt::format("{}: '{}' is undefined (null)", type_name(), name));
  auto same = [&](const auto& p) { return p.first == name; };
  if (std::any_of(params_.begin(), params_.end(), same) || std::any_of(buffers_.begin(), buffers_.end(), same) ||
      std::any_of(children_.begin(), children_.end(), same))
    throw ValueError(fmt::format("{}: the name '{}' is already registered", type_name(), name));
}

Tensor& Module::register_parameter(std::string name, Tensor t) {
  check_new_name(name, t.defined());
  if (!t.is_leaf())
    throw GradError(fmt::format("{}: parameter '{}' must be a leaf tensor (produced by '{}'); "
                                "pass a detach()ed copy", type_name(), name, t.op_name()));
  t.requires_grad_(true);
  params_.emplace_back(std::move(name), std::move(t));
  return params_.back().second;
}

Tensor& Module::register_buffer(std::string name, Tensor t, bool persistent) {
  check_new_name(name, t.defined());
  if (t.requires_grad())
    throw GradError(fmt::format("{}: buffer '{}' must not require grad (buffers are not trained); pass a "
                                "detach()ed tensor or register it as a parameter",
                                type_name(), name));
  buffers_.emplace_back(std::move(name), std::move(t));
  buffer_persistent_.push_back(persistent);
  return buffers_.back().second;
}

void Module::collect_buffers(const std::string& prefix, bool persistent_only,
                             std::vector<std::pair<std::string, Tensor>>& out) const {
  for (std::size_t i = 0; i < buffers_.size(); ++i)
    if (!persistent_only || buffer_persistent_[i]) out.emplace_back(prefix + buffers_[i].first, buffers_[i].second);
  for (const auto& [name, child] : children_) child->collect_buffers(prefix + name + ".", persistent_only, out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> all;
  collect_buffers("", false, all);
  std::unordered_set<const void*> seen;  // a shared buffer is listed once, under its first name
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& b : all)
    if (seen.insert(b.second.id()).second) out.push_back(std::move(b));
  return out;
}

std::vector<Tensor> Module::buffers() const {
  std::vector<Tensor> out;
  for (auto& b : named_buffers()) out.push_back(std::move(b.second));
  return out;
}

void Module::collect(const std::string& prefix,
                     std::vector<std::pair<std::string, Tensor>>& out) const {
  for (const auto& [name, t] : params_) out.emplace_back(prefix + name, t);
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> all;
  collect("", all);
  // A shared (tied) tensor is listed once: an optimizer must not step it twice.
  std::unordered_set<const void*> seen;
  std::vector<std::pair<std::string, Tensor>> out;
  out.reserve(all.size());
  for (auto& p : all)
    if (seen.insert(p.second.id()).second) out.push_back(std::move(p));
  return out;
}

namespace {
std::vector<Tensor> tensors_of(std::vector<std::pair<std::string, Tensor>> named) {
  std::vector<Tensor> out;
  out.reserve(named.size());
  for (auto& p : named) out.push_back(std::move(p.second));
  return out;
}
}  // namespace

std::vector<Tensor> Module::parameters() const { return tensors_of(named_parameters()); }

std::vector<std::pair<std::string, Tensor>> Module::named_trainable_parameters() const {
  auto out = named_parameters();
  out.erase(std::remove_if(out.begin(), out.end(), [](const auto& p) { return !p.second.requires_grad(); }),
            out.end());
  return out;
}

std::vector<Tensor> Module::trainable_parameters() const { return tensors_of(named_trainable_parameters()); }

std::size_t Module::num_parameters() const {
  std::size_t n = 0;
  for (const auto& p : named_parameters()) n += p.second.numel();
  return n;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() const {
  std::vector<std::pair<std::string, Module*>> out;
  for (const auto& [name, child] : children_) {
    out.emplace_back(name, child.get());
    for (auto& [sub, m] : child->named_modules()) out.emplace_back(name + "." + sub, m);
  }
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& c : children_) c.second->train(on);
}

void Module::zero_grad() {
  for (auto& p : named_parameters()) p.second.zero_grad();
}

void Module::to(DType d) {
  if (!is_floating(d))
    throw DtypeError(fmt::format("{}.to: modules convert to float32 or float64, got {}", type_name(), dtype_name(d)));
  auto convert_in_place = [d](Tensor& t) {
    // Replace the value inside the same handle: every holder (the layer's member, an optimizer)
    // sees the converted tensor. The old gradient has the old dtype, so it is dropped.
    ag::detail::TensorImpl* im = t.impl();
    NoGradGuard no_grad;
    Tensor converted = t.to(d);  // a fresh tensor: its value can be moved out
    im->value = std::move(converted.impl()->value);
    im->grad = Tensor();
    ++im->version;
  };
  for (auto& [name, p] : named_parameters())
    if (p.dtype() != d) convert_in_place(p);
  for (auto& [name, b] : named_buffers())
    if (is_floating(b.dtype()) && b.dtype() != d) convert_in_place(b);
}

std::vector<std::pair<std::string, Tensor>> Module::state_dict() const {
  auto out = named_parameters();
  std::vector<std::pair<std::string, Tensor>> bufs;
  collect_buffers("", true, bufs);
  std::unordered_set<const void*> seen;
  for (auto& p : out) seen.insert(p.second.id());
  for (auto& b : bufs)
    if (seen.insert(b.second.id()).second) out.push_back(std::move(b));
  return out;
}

LoadResult Module::load_state_dict(const std::vector<std::pair<std::string, Tensor>>& state, bool strict) {
  const auto mine = state_dict();
  std::map<std::string, const Tensor*> given;
  std::vector<std::string> problems;
  for (const auto& [name, t] : state) {
    if (!given.emplace(name, &t).second) problems.push_back(fmt::format("'{}' appears twice", name));
    if (!t.defined()) problems.push_back(fmt::format("'{}' is undefined", name));
  }
  LoadResult r;
  std::set<std::string> known;
  for (const auto& [name, t] : mine) {
    known.insert(name);
    auto it = given.find(name);
    if (it == given.end()) {
      r.missing.push_back(name);
      continue;
    }
    const Tensor& src = *it->second;
    if (!src.defined()) continue;
    if (src.shape() != t.shape())
      problems.push_back(fmt::format("'{}' has shape {} in the state dict but {} in the module", name,
                                     shape_str(src.shape()), shape_str(t.shape())));
    else if (src.dtype() != t.dtype())
      problems.push_back(fmt::format("'{}' is {} in the state dict but {} in the module", name,
                                     dtype_name(src.dtype()), dtype_name(t.dtype())));
  }
  for (const auto& [name, t] : state)
    if (!known.count(name)) r.unexpected.push_back(name);
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "'" : ", '") + x + "'";
    return s;
  };
  if (strict && !r.missing.empty()) problems.push_back("missing: " + list(r.missing));
  if (strict && !r.unexpected.empty()) problems.push_back("unexpected: " + list(r.unexpected));
  if (!problems.empty()) {
    std::string msg;
    for (const auto& p : problems) msg += (msg.empty() ? "" : "; ") + p;
    throw ValueError(fmt::format("{}.load_state_dict: {} (nothing was loaded)", type_name(), msg));
  }
  NoGradGuard no_grad;  // everything fits: copy into the existing tensors (handles stay valid)
  for (const auto& [name, t] : mine) {
    auto it = given.find(name);
    if (it == given.end()) continue;
    Tensor dst = t;
    dst.copy_(*it->second);
  }
  return r;
}

DType Module::dtype() const {
  auto ps = named_parameters();
  return ps.empty() ? f32 : ps.front().second.dtype();
}

}  // namespace ag::nn
