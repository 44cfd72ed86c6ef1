"""NumPy cross-check of ag::io (run by ctest as io.numpy_cross_check).

NumPy writes .npy files (C and Fortran order, both byte orders, every dtype tapegrad reads), .npz
archives (numpy.savez and numpy.savez_compressed of all of those) and a .safetensors file (written
here byte by byte from the format's definition); tapegrad's io_copy reads each one and writes it
back (each .npz both stored and deflated); NumPy then reads tapegrad's files and compares them exactly
with the originals, after the documented widenings (float16 -> float32, int8/int16/uint16 ->
int32, uint32/uint64 -> int64). Exits 77 (ctest: skipped) when NumPy is not installed.

    cross_check.py IO_COPY WORKDIR [--without-npz]    (--without-npz: tapegrad built without libzip)
"""
import json
import os
import struct
import subprocess
import sys
import zipfile

try:
    import numpy as np
except ImportError:
    print("io.numpy_cross_check: skipped: NumPy is not installed for", sys.executable,
          "(Debian: apt-get install python3-numpy; scripts/install-deps does it)")
    sys.exit(77)

io_copy, work = sys.argv[1], sys.argv[2]
with_npz = "--without-npz" not in sys.argv[3:]
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


def copy(src, dst, *extra):
    r = subprocess.run([io_copy, src, dst, *extra], capture_output=True, text=True)
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

# .npz: every array above in every variant (Fortran order, big-endian) in one archive, written by
# numpy.savez and numpy.savez_compressed; tapegrad reads each and writes it stored and deflated;
# np.load reads tapegrad's archives: the same keys in the same order, the same values, and the
# members stored (ZIP_STORED) or deflated (ZIP_DEFLATED) as asked.
members = {}
for name, a in arrays.items():
    a = np.asarray(a)
    members[name] = a
    if a.ndim >= 2:
        members[name + "_fortran"] = np.asfortranarray(a)
    if a.dtype.itemsize > 1:
        members[name + "_big"] = a.astype(a.dtype.newbyteorder(">"))
members["layers.0.weight"] = arrays["f32"]
for writer in (np.savez, np.savez_compressed) if with_npz else ():
    for arrays_in in (members, {}):
        src = os.path.join(work, f"np_{writer.__name__}_{len(arrays_in)}.npz")
        writer(src, **arrays_in)
        for mode in ("stored", "compressed"):
            dst = os.path.join(work, f"ag_{writer.__name__}_{len(arrays_in)}_{mode}.npz")
            copy(src, dst, *(["compressed"] if mode == "compressed" else []))
            with zipfile.ZipFile(dst) as z:
                infos = z.infolist()
                if [i.filename for i in infos] != [k + ".npy" for k in arrays_in]:
                    raise SystemExit(f"{dst}: members {[i.filename for i in infos]}")
                want_method = zipfile.ZIP_DEFLATED if mode == "compressed" else zipfile.ZIP_STORED
                if any(i.compress_type != want_method for i in infos):
                    raise SystemExit(f"{dst}: members not {mode}")
                if z.testzip() is not None:
                    raise SystemExit(f"{dst}: CRC error in {z.testzip()}")
            with np.load(dst) as got:
                if list(got.keys()) != list(arrays_in):
                    raise SystemExit(f"{dst}: keys {list(got.keys())}, expected {list(arrays_in)}")
                for k, a in arrays_in.items():
                    same(got[k], expected(a), f"{writer.__name__} -> {mode}: {k}")
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
