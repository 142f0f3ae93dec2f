#!/usr/bin/env bash
# Fast-path benchmark (issue 12, item 4): instructions per malloc/free pair,
# counted by callgrind, for lwmalloc beside glibc and mimalloc (and jemalloc
# and tcmalloc when installed) in one run. A benchmark, not a test: it exits
# 0 whether or not lwmalloc meets its targets, unless --check is given.
#
#   scripts/bench-fastpath.sh [--lib PATH] [--out FILE] [--quick] [--check]
#
# The drivers are the C programs in bench/fastpath/. Each runs under
# `valgrind --tool=callgrind` twice per allocator, with N1 and N2 iterations;
# (total(N2) - total(N1)) / (N2 - N1) is the cost of one iteration, with
# start-up and exit cancelled out. The driver's own instructions (its loop,
# its random numbers, the PLT stubs) are counted the same way and taken
# off: what is left is the cost of malloc + free. Callgrind counts
# instructions, not time, so the figures do not depend on the machine's
# load, and the drivers are deterministic.
#
# Prints a Markdown table on stdout and writes the figures, the commands,
# the versions and the libraries' SHA-256 to results/fastpath-TIMESTAMP.json
# (or --out FILE). The callgrind profiles stay in target/fastpath/callgrind/
# for callgrind_annotate.
set -euo pipefail
caller=$PWD # --lib and --out are relative to where the script was called from
cd "$(dirname "$0")/.."
root=$PWD

usage() {
  cat <<'EOF'
usage: scripts/bench-fastpath.sh [--lib PATH] [--out FILE] [--quick] [--check]
  --lib PATH   measure this liblwmalloc.so instead of building target/release/liblwmalloc.so
  --out FILE   write the JSON here (default results/fastpath-TIMESTAMP.json)
  --quick      10k and 20k iterations instead of 100k and 200k
  --check      exit 1 when lwmalloc misses a target (default: always exit 0)
EOF
}
die() {
  echo "bench-fastpath: $*" >&2
  exit 2
}

invocation="scripts/bench-fastpath.sh${*:+ $*}"
lib='' out='' quick=false check=false
while (($#)); do
  case "$1" in
    --lib)
      (($# >= 2)) || die "--lib needs a path"
      lib=$2
      shift
      ;;
    --lib=*) lib=${1#--lib=} ;;
    --out)
      (($# >= 2)) || die "--out needs a path"
      out=$2
      shift
      ;;
    --out=*) out=${1#--out=} ;;
    --quick) quick=true ;;
    --check) check=true ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      die "unknown option '$1'"
      ;;
  esac
  shift
done
if [ -n "$lib" ]; then
  [ "${lib:0:1}" = / ] || lib=$caller/$lib
  [ -f "$lib" ] || die "--lib $lib: no such file"
  lib=$(realpath "$lib")
fi
if [ -z "$out" ]; then
  out="results/fastpath-$(date -u +%Y%m%d-%H%M%S).json"
elif [ "${out:0:1}" != / ]; then
  out=$caller/$out
fi

if $quick; then iterations=(10000 20000); else iterations=(100000 200000); fi

scripts/setup.sh --bench >&2

cc=${CC:-cc}
cflags=(-O2 -fno-builtin -pthread -Wall -Wextra -Werror)
multiarch=$("$cc" -print-multiarch 2>/dev/null || true)
[ -n "$multiarch" ] || multiarch=$("$cc" -dumpmachine)

build_cmd=
if [ -z "$lib" ]; then
  build_cmd="cargo build --release --locked -p lwmalloc-preload"
  echo "bench-fastpath: $build_cmd" >&2
  $build_cmd >&2
  lib=$root/target/release/liblwmalloc.so
fi

# The drivers: name, source, arguments after the iteration count, target
# (instructions per malloc+free pair, empty for none), description.
drivers=(
  "pair-32|pair|32|40|malloc(32) + free, nothing else live"
  "mixed|mixed||60|1000 live blocks of 16-256 B, a random one freed and replaced"
  "pair-1k|pair|1024||malloc(1024) + free, nothing else live"
  "cross-32|cross|||malloc(32) on one thread, free on another, batches of 1000"
)

bin=$root/target/fastpath/bin
profiles=$root/target/fastpath/callgrind
mkdir -p "$bin" "$profiles"
rm -f "$profiles"/*.out "$profiles"/*.log
declare -A built=()
for d in "${drivers[@]}"; do
  IFS='|' read -r _ src _ <<<"$d"
  [ -z "${built[$src]:-}" ] || continue
  "$cc" "${cflags[@]}" -o "$bin/$src" "bench/fastpath/$src.c"
  built[$src]=1
done

# The allocators: name and the library preloaded (empty: glibc's own).
allocators=("glibc|" "mimalloc|/usr/lib/$multiarch/libmimalloc.so.2")
[ ! -e "/usr/lib/$multiarch/libjemalloc.so.2" ] ||
  allocators+=("jemalloc|/usr/lib/$multiarch/libjemalloc.so.2")
[ ! -e "/usr/lib/$multiarch/libtcmalloc_minimal.so.4" ] ||
  allocators+=("tcmalloc|/usr/lib/$multiarch/libtcmalloc_minimal.so.4")
allocators+=("lwmalloc|$lib")
[ -e "/usr/lib/$multiarch/libmimalloc.so.2" ] ||
  die "/usr/lib/$multiarch/libmimalloc.so.2 is missing (Debian's libmimalloc2.0)"

# One callgrind run; appends a line to $raw: driver, allocator, iterations,
# total, driver's own and the preloaded library's own instructions, command.
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
measure() {
  local name=$1 src=$2 args=$3 alloc=$4 preload=$5 n=$6
  local profile="$profiles/$name-$alloc-$n.out" log="$profiles/$name-$alloc-$n.log"
  local cmd=(valgrind --tool=callgrind "--callgrind-out-file=$profile" "$bin/$src" "$n")
  [ -z "$args" ] || cmd+=("$args")
  [ -z "$preload" ] || cmd=(env "LD_PRELOAD=$preload" "${cmd[@]}")
  if ! "${cmd[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    echo "bench-fastpath: failed: ${cmd[*]}" >&2
    exit 1
  fi
  local counts total own libself
  counts=$(awk -v driver="$bin/$src" -v lib="$(realpath "${preload:-/dev/null}")" \
    -f scripts/lib/callgrind-self.awk "$profile")
  read -r total own libself <<<"$counts"
  # A preload that did not take would measure glibc under another name.
  if [ -n "$preload" ] && ((libself < n)); then
    echo "bench-fastpath: $preload ran $libself instructions in $n iterations: not preloaded?" >&2
    exit 1
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$alloc" "$n" "$total" "$own" "$libself" "${cmd[*]}" >>"$raw"
}

for d in "${drivers[@]}"; do
  IFS='|' read -r name src args _ <<<"$d"
  for a in "${allocators[@]}"; do
    IFS='|' read -r alloc preload <<<"$a"
    echo "bench-fastpath: $name under $alloc" >&2
    for n in "${iterations[@]}"; do measure "$name" "$src" "$args" "$alloc" "$preload" "$n"; done
  done
done

# Metadata for the JSON.
json_str() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
dirty=false
[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || dirty=true
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
libs_json=
for a in "${allocators[@]}"; do
  IFS='|' read -r alloc preload <<<"$a"
  if [ -n "$preload" ]; then
    entry="{\"name\": $(json_str "$alloc"), \"preload\": $(json_str "$preload"), \"file\": $(json_str "$(realpath "$preload")"), \"sha256\": $(json_str "$(sha256sum <"$preload" | cut -d' ' -f1)")}"
  else
    entry="{\"name\": \"glibc\", \"preload\": null, \"version\": $(json_str "$(ldd --version | head -n1)")}"
  fi
  libs_json+="${libs_json:+,$'\n'    }$entry"
done
drivers_json=
for d in "${drivers[@]}"; do
  IFS='|' read -r name src args target desc <<<"$d"
  entry="{\"name\": $(json_str "$name"), \"source\": \"bench/fastpath/$src.c\", \"args\": $(json_str "$args"), \"target\": ${target:-null}, \"what\": $(json_str "$desc")}"
  drivers_json+="${drivers_json:+,$'\n'    }$entry"
done
targets=$(for d in "${drivers[@]}"; do
  IFS='|' read -r name _ _ target _ <<<"$d"
  printf '%s=%s ' "$name" "$target"
done)

mkdir -p "$(dirname "$out")"
results=$(mktemp)
trap 'rm -f "$raw" "$results"' EXIT
status=0
awk -F'\t' -v n1="${iterations[0]}" -v n2="${iterations[1]}" -v targets="$targets" \
  -v json="$results" -f scripts/lib/fastpath-report.awk "$raw" || status=$?
((status <= 1)) || exit "$status"

{
  echo "{"
  echo "  \"benchmark\": \"fastpath\","
  echo "  \"date\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\","
  echo "  \"command\": $(json_str "$invocation"),"
  echo "  \"commit\": \"$commit\", \"dirty\": $dirty,"
  echo "  \"host\": $(json_str "$(uname -srm)"), \"cpu\": $(json_str "$cpu"),"
  echo "  \"valgrind\": $(json_str "$(valgrind --version)"),"
  echo "  \"cc\": $(json_str "$("$cc" --version | head -n1)"),"
  echo "  \"driver_build\": $(json_str "$cc ${cflags[*]} -o target/fastpath/bin/NAME bench/fastpath/NAME.c"),"
  if [ -n "$build_cmd" ]; then echo "  \"lwmalloc_build\": $(json_str "$build_cmd"),"; fi
  echo "  \"iterations\": [${iterations[0]}, ${iterations[1]}],"
  echo "  \"method\": \"per_pair = ((total - driver)(N2) - (total - driver)(N1)) / (N2 - N1): callgrind Ir outside the driver's own code per iteration; per_iteration counts the driver too\","
  echo "  \"allocators\": ["
  echo "    $libs_json"
  echo "  ],"
  echo "  \"drivers\": ["
  echo "    $drivers_json"
  echo "  ],"
  cat "$results"
  echo "}"
} >"$out"
echo
echo "JSON: $out"

if $check && ((status == 1)); then
  echo "bench-fastpath: lwmalloc misses a target (--check)" >&2
  exit 1
fi
exit 0
