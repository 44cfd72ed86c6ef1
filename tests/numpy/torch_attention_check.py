"""PyTorch cross-check of MultiheadAttention, TransformerEncoder and TransformerDecoder (ctest: nn.torch_attention_check).

PyTorch's modules are built here, their state dicts written as .safetensors (from the format's
definition: the safetensors package is not in Debian) and loaded by attention_tool through
nn::load_state (PyTorch's layout); the outputs, the attention weights and the gradients of
sum(y²) must agree. Padding and attention masks use PyTorch's conventions (true = ignored / not
allowed); no query has every key masked (PyTorch gives NaN there, tapegrad zeros). Exits 77
(ctest: skipped) without python3-torch / python3-numpy.

    torch_attention_check.py ATTENTION_TOOL WORKDIR
"""
import json
import os
import struct
import subprocess
import sys

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"nn.torch_attention_check: skipped: {e.name} is not installed for {sys.executable} "
          "(Debian: apt-get install python3-torch python3-numpy)")
    sys.exit(77)

tool, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)


def write_safetensors(path, state):
    header, blobs, at = {}, [], 0
    for k, t in state.items():
        data = t.detach().contiguous().numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [at, at + len(data)]}
        blobs.append(data)
        at += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def run(*args):
    r = subprocess.run([tool, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"attention_tool {' '.join(args)} failed: {r.stderr}")


def path(name):
    return os.path.join(work, name)


def compare(what, got, want, tol=2e-5):
    err = float(np.abs(np.asarray(got, dtype=np.float64) - np.asarray(want, dtype=np.float64)).max())
    if not err <= tol:
        raise SystemExit(f"{what}: tapegrad and PyTorch differ by {err}")
    return err


torch.manual_seed(0)
worst = 0.0

# ---- MultiheadAttention(8, 2), seq-first x [5, 3, 8], key padding and a bool attention mask
mha = torch.nn.MultiheadAttention(8, 2)
with torch.no_grad():
    mha.in_proj_bias.uniform_(-0.5, 0.5)
    mha.out_proj.bias.uniform_(-0.5, 0.5)
write_safetensors(path("mha.safetensors"), mha.state_dict())
x = torch.randn(5, 3, 8)
kpm = torch.tensor([[0, 0, 0, 1, 1], [0, 0, 0, 0, 0], [1, 0, 0, 0, 1]], dtype=torch.bool)
mask = torch.tensor([[0, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 1, 0], [1, 1, 0, 0, 0], [0, 0, 0, 0, 0]],
                    dtype=torch.bool)
np.save(path("x.npy"), x.numpy())
np.save(path("kpm.npy"), kpm.numpy())
np.save(path("mask.npy"), mask.numpy())
run("mha", path("mha.safetensors"), path("x.npy"), path("kpm.npy"), path("mask.npy"), work)
xg = x.clone().requires_grad_()
y, w = mha(xg, xg, xg, key_padding_mask=kpm, attn_mask=mask, need_weights=True)
(y * y).sum().backward()
worst = max(worst, compare("MultiheadAttention output", np.load(path("y.npy")), y.detach().numpy()))
worst = max(worst, compare("MultiheadAttention weights", np.load(path("w.npy")), w.detach().numpy()))
worst = max(worst, compare("MultiheadAttention d/dx", np.load(path("gx.npy")), xg.grad.numpy(), 1e-4))
worst = max(worst, compare("MultiheadAttention d/d in_proj_weight", np.load(path("g_in_proj_weight.npy")),
                           mha.in_proj_weight.grad.numpy(), 1e-4))
worst = max(worst, compare("MultiheadAttention d/d out_proj.weight", np.load(path("g_out_proj_weight.npy")),
                           mha.out_proj.weight.grad.numpy(), 1e-4))

# ---- 2-layer TransformerEncoder with a final norm, batch_first, post-norm relu and pre-norm gelu
xb = torch.randn(3, 6, 8)
kpm_b = torch.tensor([[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 1]], dtype=torch.bool)
np.save(path("xb.npy"), xb.numpy())
np.save(path("kpm_b.npy"), kpm_b.numpy())
for kind in ("post", "pre"):
    layer = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True,
                                             norm_first=kind == "pre", activation="gelu" if kind == "pre" else "relu")
    try:
        enc = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False)
    except TypeError:
        enc = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(8))
    with torch.no_grad():  # distinct layers and non-trivial norms (deepcopy makes the layers equal)
        for name, p in enc.named_parameters():
            p.add_(0.1 * torch.randn_like(p))
    enc.train()  # dropout is 0; training mode keeps PyTorch off its fused inference path
    write_safetensors(path(f"enc_{kind}.safetensors"), enc.state_dict())
    run("encoder", path(f"enc_{kind}.safetensors"), path("xb.npy"), path("kpm_b.npy"), path(f"y_{kind}.npy"), kind)
    with torch.no_grad():
        want = enc(xb, src_key_padding_mask=kpm_b).numpy()
    worst = max(worst, compare(f"TransformerEncoder ({kind}-norm)", np.load(path(f"y_{kind}.npy")), want))

# ---- 2-layer TransformerDecoder with a final norm: causal target mask, memory padding
layer = torch.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
dec = torch.nn.TransformerDecoder(layer, 2, norm=torch.nn.LayerNorm(8))
with torch.no_grad():
    for name, p in dec.named_parameters():
        p.add_(0.1 * torch.randn_like(p))
dec.train()
write_safetensors(path("dec.safetensors"), dec.state_dict())
tgt = torch.randn(3, 4, 8)
np.save(path("tgt.npy"), tgt.numpy())
run("decoder", path("dec.safetensors"), path("tgt.npy"), path("xb.npy"), path("kpm_b.npy"), path("y_dec.npy"))
causal = torch.triu(torch.full((4, 4), float("-inf")), diagonal=1)
with torch.no_grad():
    want = dec(tgt, xb, tgt_mask=causal, memory_key_padding_mask=kpm_b).numpy()
worst = max(worst, compare("TransformerDecoder", np.load(path("y_dec.npy")), want))

print(f"nn.torch_attention_check: MultiheadAttention (outputs, weights, gradients), 2-layer "
      f"TransformerEncoders and a TransformerDecoder agree with PyTorch (max difference {worst:.2e}; torch {torch.__version__})")
