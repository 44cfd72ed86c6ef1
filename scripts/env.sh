# Sourced by scripts/demo, scripts/test and .ci/run: environment for building and running tapegrad.
#
# OpenBLAS 0.3.21 (Debian bookworm) picks its kernels from the CPU model at start-up and can fall
# back to its slow generic Prescott kernels on models it does not know (about 3x slower dgemm).
# OPENBLAS_CORETYPE, read when the process starts, forces the choice: name the best kernel the
# CPU's features allow (never SkylakeX without avx512f: illegal instruction). A value the user
# already set is kept as is.
if [ -z "${OPENBLAS_CORETYPE+x}" ] && [ -r /proc/cpuinfo ]; then
  if grep -qw avx512f /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
  fi
fi

export DEBIAN_FRONTEND=noninteractive
# Repository root (this file lives in scripts/).
TAPEGRAD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# tapegrad_configure <build dir> [cmake args...]: configures with Ninja (the generator is only
# passed on the first run: CMake refuses to switch generators in an existing build dir).
tapegrad_configure() {
  local dir="$1"; shift
  local gen=()
  [ -f "$dir/CMakeCache.txt" ] || gen=(-G Ninja)
  cmake -S "$TAPEGRAD_ROOT" -B "$dir" "${gen[@]}" "$@"
}
