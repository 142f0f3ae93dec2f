# Used by scripts/bench-fastpath.sh. Reads its raw lines (tab-separated:
# driver, allocator, iterations, total Ir, driver's own Ir, preloaded
# library's own Ir, command) for the iteration counts n1 and n2, prints the
# Markdown table and writes the "results" part of the JSON to the file
# -v json=PATH. -v targets="driver=N ..." gives lwmalloc's targets in
# instructions per pair. Exits 1 when lwmalloc misses a target, else 0.
function num(x) { return sprintf("%.2f", x) }
function str(s) {
  gsub(/\\/, "\\\\", s)
  gsub(/"/, "\\\"", s)
  return "\"" s "\""
}
function ratio(x, y) { return y > 0 ? sprintf("%.2f", x / y) : "" }
BEGIN {
  n = split(targets, t, " ")
  for (i = 1; i <= n; i++) {
    split(t[i], kv, "=")
    target[kv[1]] = kv[2]
  }
}
{
  key = $1 SUBSEP $2
  if (!(key in seen)) {
    seen[key] = 1
    rows[++nrows] = key
    if (!($1 in driver_seen)) { driver_seen[$1] = 1; driver_order[++ndrivers] = $1 }
  }
  total[key, $3] = $4
  own[key, $3] = $5
  lib[key, $3] = $6
  command[key, $3] = $7
}
END {
  dn = n2 - n1
  for (r = 1; r <= nrows; r++) {
    key = rows[r]
    per_iter[key] = (total[key, n2] - total[key, n1]) / dn
    per_pair[key] = ((total[key, n2] - own[key, n2]) - (total[key, n1] - own[key, n1])) / dn
  }

  print "Instructions per iteration (callgrind Ir, (I(" n2 ") - I(" n1 ")) / " dn "); *malloc+free* leaves out the driver's own code."
  print ""
  print "| driver | allocator | malloc+free per pair | per iteration (with driver) | share in malloc+free | vs glibc | vs mimalloc | lwmalloc target | result |"
  print "|---|---|--:|--:|--:|--:|--:|--:|---|"
  missed = 0
  out = ""
  for (r = 1; r <= nrows; r++) {
    key = rows[r]
    split(key, k, SUBSEP)
    d = k[1]; a = k[2]
    glibc = per_pair[d, "glibc"]; mi = per_pair[d, "mimalloc"]
    goal = (a == "lwmalloc" && target[d] != "") ? target[d] : ""
    verdict = ""
    if (goal != "") {
      verdict = per_pair[key] <= goal + 0 ? "pass" : "FAIL"
      if (verdict == "FAIL") missed = 1
    }
    share = per_iter[key] > 0 ? sprintf("%.0f %%", 100 * per_pair[key] / per_iter[key]) : ""
    printf "| %s | %s | %.1f | %.1f | %s | %s | %s | %s | %s |\n", d, a, per_pair[key], per_iter[key], \
      share, ratio(per_pair[key], glibc), ratio(per_pair[key], mi), goal == "" ? "" : "<= " goal, verdict

    entry = "    {\"driver\": " str(d) ", \"allocator\": " str(a)
    entry = entry ", \"per_pair\": " num(per_pair[key]) ", \"per_iteration\": " num(per_iter[key])
    entry = entry ", \"driver_per_iteration\": " num(per_iter[key] - per_pair[key])
    entry = entry ", \"ratio_glibc\": " (glibc > 0 ? ratio(per_pair[key], glibc) : "null")
    entry = entry ", \"ratio_mimalloc\": " (mi > 0 ? ratio(per_pair[key], mi) : "null")
    entry = entry ", \"target\": " (goal == "" ? "null" : goal)
    entry = entry ", \"pass\": " (goal == "" ? "null" : (verdict == "pass" ? "true" : "false"))
    entry = entry ",\n      \"runs\": ["
    for (i = 1; i <= 2; i++) {
      m = i == 1 ? n1 : n2
      entry = entry (i > 1 ? ",\n" : "\n") "        {\"iterations\": " m ", \"total_ir\": " total[key, m] \
        ", \"driver_ir\": " own[key, m] ", \"library_ir\": " lib[key, m] ", \"command\": " str(command[key, m]) "}"
    }
    entry = entry "]}"
    out = out (r > 1 ? ",\n" : "") entry
  }
  print ""
  for (i = 1; i <= ndrivers; i++) {
    d = driver_order[i]
    if (target[d] != "")
      printf "%s: lwmalloc %.1f per pair, target <= %s: %s\n", d, per_pair[d, "lwmalloc"], target[d], \
        per_pair[d, "lwmalloc"] <= target[d] + 0 ? "met" : "missed"
  }
  print "  \"targets_met\": " (missed ? "false" : "true") "," > json
  print "  \"results\": [" > json
  print out > json
  print "  ]" > json
  close(json)
  exit missed
}
