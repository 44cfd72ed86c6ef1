# awk functions shared by bench/run and bench/compare (POSIX awk; mawk is enough). The scripts
# prepend this file to their program text.
function kv(line, key,   m) {  # value of key=... in line
  if (match(line, "(^| )" key "=[^ ]*")) { m = substr(line, RSTART, RLENGTH); sub(/^ /, "", m); return substr(m, length(key) + 2) }
  return ""
}
function median(list,   a, n, i, j, t) {
  n = split(list, a, " ")
  for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function spread(list,   a, n, i, lo, hi) {  # "median [min, max]" of a list, or na
  n = split(list, a, " ")
  if (n == 0) return "na"
  lo = hi = a[1] + 0
  for (i = 2; i <= n; i++) { if (a[i] + 0 < lo) lo = a[i] + 0; if (a[i] + 0 > hi) hi = a[i] + 0 }
  return sprintf("%.3g[%.3g,%.3g]", median(list), lo, hi)
}
function scale(unit) { return unit == "ms" ? 1e6 : unit == "us" ? 1e3 : 1 }
function fmt(x) { return x == "" ? "na" : sprintf("%.4g", x) }
function abs(x) { return x < 0 ? -x : x }
# "ok (n values, max diff d)" or "MISMATCH ..." comparing two comma-separated value lists
function compare(x, y, tol,   a, b, n, m, i, d, worst, mx) {
  n = split(x, a, ","); m = split(y, b, ",")
  if (n != m) return "MISMATCH (" n " vs " m " values)"
  worst = 0
  for (i = 1; i <= n; i++) {
    mx = abs(a[i]) > abs(b[i]) ? abs(a[i]) : abs(b[i])
    d = abs(a[i] - b[i]) / (1 + mx)
    if (d > worst) worst = d
  }
  return (worst <= tol + 0 ? "ok" : "MISMATCH") sprintf(" (%d values, max rel diff %.2g)", n, worst)
}
