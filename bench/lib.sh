# Shell helpers shared by bench/run and bench/compare (bash; sourced, prints nothing).

# bench_blas_env N: sets OPENBLAS_CORETYPE from the CPU when unset (OpenBLAS 0.3.21 otherwise
# falls back to slow generic kernels on these CPUs) and exports OPENBLAS_NUM_THREADS,
# OMP_NUM_THREADS and MKL_NUM_THREADS = N.
bench_blas_env() {
  if [ -z "${OPENBLAS_CORETYPE+x}" ] && [ -r /proc/cpuinfo ]; then
    if grep -qw avx512f /proc/cpuinfo; then
      export OPENBLAS_CORETYPE=SkylakeX
    elif grep -qw avx2 /proc/cpuinfo; then
      export OPENBLAS_CORETYPE=Haswell
    fi
  fi
  export OPENBLAS_NUM_THREADS="$1" OMP_NUM_THREADS="$1" MKL_NUM_THREADS="$1"
}

# bench_loadavg: the 1, 5 and 15 minute load averages ("na" when unknown).
bench_loadavg() {
  cut -d' ' -f1-3 /proc/loadavg 2> /dev/null || echo na
}

# bench_machine: sets bench_cpu ("<model name> (family F, model M)"), bench_cores (online
# processors) and bench_flags (avx512f, avx2 or none).
bench_machine() {
  local family model
  bench_cpu="$(grep -m1 'model name' /proc/cpuinfo 2> /dev/null | cut -d: -f2- | sed 's/^ *//' || true)"
  bench_cores="$(getconf _NPROCESSORS_ONLN 2> /dev/null || echo na)"  # (nproc obeys OMP_NUM_THREADS)
  family="$(grep -m1 'cpu family' /proc/cpuinfo 2> /dev/null | cut -d: -f2 | tr -d ' ' || true)"
  model="$(grep -m1 -E '^model\s' /proc/cpuinfo 2> /dev/null | cut -d: -f2 | tr -d ' ' || true)"
  bench_cpu="$bench_cpu (family $family, model $model)"
  bench_flags="$(grep -m1 -ow -E 'avx512f' /proc/cpuinfo 2> /dev/null || grep -m1 -ow -E 'avx2' /proc/cpuinfo 2> /dev/null || echo none)"
}
