"""NumPy cross-check of ag::io (run by ctest as io.numpy_cross_check).

NumPy writes .npy files (C and Fortran order, both byte orders, every dtype tapegrad reads) and a
.safetensors file (written here byte by byte from the format's definition); tapegrad's io_copy
reads each one and writes it back; NumPy then reads tapegrad's files and compares them exactly
with the originals, after the documented widenings (float16 -> float32, int8/int16/uint16 ->
int32, uint32/uint64 -> int64). Exits 77 (ctest: skipped) when NumPy is not installed.

    cross_check.py IO_COPY WORKDIR
"""
import json
import os
import struct
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print("io.numpy_cross_check: skipped: NumPy is not installed for", sys.executable,
          "(Debian: apt-get install python3-numpy; scripts/install-deps does it)")
    sys.exit(77)

io_copy, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(7)

WIDEN = {np.float16: np.float32, np.int8: np.int32, np.int16: np.int32, np.uint16: np.int32,
         np.uint32: np.int64, np.uint64: np.int64}


def expected(a):
    a = np.asarray(a)
    t = WIDEN.get(a.dtype.type)
    return np.array(a.astype(t) if t else a.astype(a.dtype.newbyteorder("=")), order="C")  # (keeps 0-d)


def same(got, want, what):
    if got.dtype != want.dtype or got.shape != want.shape or not np.array_equal(got, want, equal_nan=True):
        raise SystemExit(f"{what}: tapegrad gave {got.dtype} {got.shape} {got!r}, expected {want.dtype} {want.shape} {want!r}")
    if want.dtype.kind == "f" and not np.array_equal(np.signbit(got), np.signbit(want)):
        raise SystemExit(f"{what}: signs of zeros differ")


def copy(src, dst):
    r = subprocess.run([io_copy, src, dst], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"io_copy {src} failed: {r.stderr}")


arrays = {
    "f32": rng.standard_normal((3, 4)).astype(np.float32),
    "f64": np.array([0.1, -0.0, np.inf, np.nan, 5e-324, -1e300]),
    "f16": rng.standard_normal(7).astype(np.float16),
    "i64": rng.integers(-2**62, 2**62, size=(2, 2, 3), dtype=np.int64),
    "i32": rng.integers(-2**31, 2**31, size=5, dtype=np.int32),
    "i16": rng.integers(-2**15, 2**15, size=5, dtype=np.int16),
    "i8": rng.integers(-128, 128, size=5, dtype=np.int8),
    "u8": rng.integers(0, 256, size=(2, 3), dtype=np.uint8),
    "u16": rng.integers(0, 2**16, size=4, dtype=np.uint16),
    "u32": rng.integers(0, 2**32, size=4, dtype=np.uint32),
    "u64": rng.integers(0, 2**63, size=4, dtype=np.uint64),
    "bool": rng.integers(0, 2, size=(3, 3)).astype(bool),
    "scalar": np.float64(2.5),
    "empty": np.zeros((0, 4), np.float32),
}
checked = 0
for name, a in arrays.items():
    a = np.asarray(a)
    variants = {"c": a}
    if a.ndim >= 2:
        variants["fortran"] = np.asfortranarray(a)
    if a.dtype.itemsize > 1:
        variants["big"] = a.astype(a.dtype.newbyteorder(">"))
    for v, arr in variants.items():
        src = os.path.join(work, f"np_{name}_{v}.npy")
        dst = os.path.join(work, f"ag_{name}_{v}.npy")
        np.save(src, arr)
        copy(src, dst)
        same(np.load(dst), expected(a), f"{name} ({v})")
        checked += 1

# safetensors written from the format's definition: header length, JSON, little-endian data
tensors = {"w": arrays["f32"], "b": arrays["f64"], "n": arrays["i64"], "m": arrays["bool"], "h": arrays["f16"],
           "u": arrays["u8"]}
header, blobs, at = {}, [], 0
codes = {"float32": "F32", "float64": "F64", "int64": "I64", "bool": "BOOL", "float16": "F16", "uint8": "U8"}
for k, a in tensors.items():
    data = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
    header[k] = {"dtype": codes[a.dtype.name], "shape": list(a.shape), "data_offsets": [at, at + len(data)]}
    blobs.append(data)
    at += len(data)
header["__metadata__"] = {"format": "pt", "source": "numpy"}
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
src, dst = os.path.join(work, "np.safetensors"), os.path.join(work, "ag.safetensors")
with open(src, "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
copy(src, dst)
with open(dst, "rb") as f:
    raw = f.read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
if h.pop("__metadata__") != header["__metadata__"]:
    raise SystemExit("safetensors: metadata changed")
names = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "BOOL": np.bool_, "U8": np.uint8}
for k, a in tensors.items():
    e = h[k]
    b, end = e["data_offsets"]
    got = np.frombuffer(raw[8 + n + b:8 + n + end], dtype=np.dtype(names[e["dtype"]]).newbyteorder("<")).reshape(e["shape"])
    same(got.astype(got.dtype.newbyteorder("=")), expected(a), f"safetensors {k}")
    checked += 1
print(f"io.numpy_cross_check: {checked} arrays agree exactly (NumPy {np.__version__})")
