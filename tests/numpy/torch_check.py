"""PyTorch cross-check of nn::save_state / load_state (ctest: io.torch_cross_check).

A torch.nn.Sequential MLP's state_dict, written as .safetensors bytes here (from the format's
definition: the safetensors package is not in Debian), loads into the same tapegrad model, which
then predicts what PyTorch predicts; and a tapegrad model's save_state file loads into PyTorch's
model with load_state_dict(strict=True) and predicts what tapegrad predicts. Exits 77 (ctest:
skipped) without python3-torch / python3-numpy.

    torch_check.py STATE_MLP WORKDIR
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
    print(f"io.torch_cross_check: skipped: {e.name} is not installed for {sys.executable} "
          "(Debian: apt-get install python3-torch python3-numpy)")
    sys.exit(77)

tool, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)


def model():
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


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


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for k, e in header.items():
        if e["dtype"] != "F32":
            raise SystemExit(f"{k}: unexpected dtype {e['dtype']}")
        b, end = e["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(raw[8 + n + b:8 + n + end], dtype="<f4").reshape(e["shape"]).copy())
    return out


def run(*args):
    r = subprocess.run([tool, *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"state_mlp {' '.join(args)} failed: {r.stderr}")


torch.manual_seed(0)
x = torch.randn(16, 4)
np.save(os.path.join(work, "x.npy"), x.numpy())

# PyTorch -> tapegrad
m = model()
write_safetensors(os.path.join(work, "torch.safetensors"), m.state_dict())
run("load", os.path.join(work, "torch.safetensors"), os.path.join(work, "x.npy"), os.path.join(work, "y_ag.npy"))
with torch.no_grad():
    want = m(x).numpy()
got = np.load(os.path.join(work, "y_ag.npy"))
err = float(np.abs(got - want).max())
if err > 1e-5:
    raise SystemExit(f"PyTorch -> tapegrad: predictions differ by {err}")

# tapegrad -> PyTorch
run("save", "7", os.path.join(work, "ag.safetensors"), os.path.join(work, "x.npy"), os.path.join(work, "y_ag2.npy"))
m2 = model()
m2.load_state_dict(read_safetensors(os.path.join(work, "ag.safetensors")), strict=True)
with torch.no_grad():
    want2 = m2(x).numpy()
err2 = float(np.abs(np.load(os.path.join(work, "y_ag2.npy")) - want2).max())
if err2 > 1e-5:
    raise SystemExit(f"tapegrad -> PyTorch: predictions differ by {err2}")
print(f"io.torch_cross_check: predictions agree both ways (max difference {max(err, err2):.2e}; torch {torch.__version__})")
