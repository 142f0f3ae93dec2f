# Reads a callgrind out file (one event, Ir) and prints
#
#   TOTAL DRIVER LIB
#
# TOTAL is the file's summary: every instruction the process ran. DRIVER
# and LIB are the instructions executed in the code of the object files
# named by -v driver=PATH and -v lib=PATH (their own code, not what they
# call; PLT stubs belong to the object that holds them). Objects are
# matched by the absolute, resolved path that callgrind records.
#
# Format: https://valgrind.org/docs/manual/cl-format.html. A cost line
# follows its function's fn= (and ob=) line; the cost line after a calls=
# line is the inclusive cost of that call, which belongs to the callee and
# is skipped here. ob=, cob= and the other name lines may define a
# compressed name "(id) name" once and refer to it as "(id)" afterwards.
function object(spec,   id, rest) {
  if (match(spec, /^\([0-9]+\)/)) {
    id = substr(spec, 1, RLENGTH)
    rest = substr(spec, RLENGTH + 2)
    if (rest != "") names[id] = rest
    return names[id]
  }
  return spec
}
/^ob=/ { current = object(substr($0, 4)); next }
/^cob=/ { object(substr($0, 5)); next }
/^calls=/ { call_cost = 1; next }
/^[0-9+*-]/ {
  if (call_cost) { call_cost = 0; next }
  self[current] += $2
  next
}
/^summary:/ { total = $2 }
END {
  if (total == "") { print "callgrind-self: no summary line" > "/dev/stderr"; exit 1 }
  printf "%.0f %.0f %.0f\n", total, self[driver], self[lib]
}
