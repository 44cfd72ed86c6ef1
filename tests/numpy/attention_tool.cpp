// For the PyTorch cross-check of the attention layers (torch_attention_check.py): loads a state
// dict written by PyTorch (.safetensors, PyTorch's layout) into the same tapegrad architecture and
// writes what tapegrad computes.
//   attention_tool mha STATE X.npy KPM.npy MASK.npy OUT_DIR
//     MultiheadAttention(8, 2), x [L, N, 8]: writes y.npy, w.npy and the gradients of sum(y²):
//     gx.npy, g_in_proj_weight.npy, g_out_proj_weight.npy (PyTorch's [out, in]).
//   attention_tool encoder STATE X.npy KPM.npy Y.npy post|pre
//     TransformerEncoder(TransformerLayerOptions(8, 2).dim_feedforward(16).dropout(0), 2 layers,
//     final norm), post-norm relu or pre-norm gelu, batch_first: writes y.
//   attention_tool decoder STATE TGT.npy MEM.npy MEM_KPM.npy Y.npy
//     TransformerDecoder of the same options (post-norm relu), tgt_is_causal, memory padding: writes y.
#include <cstdio>
#include <exception>
#include <string>

#include "ag/io.hpp"
#include "ag/nn.hpp"

namespace nn = ag::nn;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (!((mode == "mha" || mode == "encoder" || mode == "decoder") && argc == 7)) {
    std::fprintf(stderr, "usage: attention_tool mha STATE X.npy KPM.npy MASK.npy OUT_DIR | "
                         "attention_tool encoder STATE X.npy KPM.npy Y.npy post|pre | "
                         "attention_tool decoder STATE TGT.npy MEM.npy MEM_KPM.npy Y.npy\n");
    return 2;
  }
  try {
    const ag::Tensor x = ag::io::load_npy(argv[3]), kpm = ag::io::load_npy(argv[4]);
    if (mode == "mha") {
      nn::MultiheadAttention m(8, 2);
      nn::load_state(m, argv[2]);
      const ag::Tensor mask = ag::io::load_npy(argv[5]);
      ag::Tensor xg = x.detach().requires_grad_();
      const auto r = m(xg, xg, xg, {kpm, mask});
      ag::sum(r.output * r.output).backward();
      const std::string out = argv[6];
      ag::io::save_npy(out + "/y.npy", r.output);
      ag::io::save_npy(out + "/w.npy", r.weights);
      ag::io::save_npy(out + "/gx.npy", xg.grad());
      ag::io::save_npy(out + "/g_in_proj_weight.npy", m.in_proj_weight().grad());
      ag::io::save_npy(out + "/g_out_proj_weight.npy", ag::transpose(m.out_proj().weight().grad()));
    } else if (mode == "decoder") {
      nn::TransformerDecoder dec(nn::TransformerLayerOptions(8, 2).dim_feedforward(16).dropout(0.0).batch_first(true),
                                 2, true);
      nn::load_state(dec, argv[2]);
      nn::DecoderCall c;
      c.tgt_is_causal = true;
      c.memory_key_padding_mask = ag::io::load_npy(argv[5]);
      ag::io::save_npy(argv[6], dec(x, kpm, c));  // here x is tgt and "kpm" the memory
    } else {
      const bool pre = std::string(argv[6]) == "pre";
      nn::TransformerEncoder enc(nn::TransformerLayerOptions(8, 2).dim_feedforward(16).dropout(0.0).batch_first(true)
                                     .norm_first(pre).activation(pre ? "gelu" : "relu"), 2, true);
      nn::load_state(enc, argv[2]);
      ag::io::save_npy(argv[5], enc(x, {ag::Tensor(), kpm}));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "attention_tool: %s\n", e.what());
    return 1;
  }
  return 0;
}
