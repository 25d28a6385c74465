#!/usr/bin/env bash
# Packing benchmark (not a test): a 256 MiB random file packed by `carport pack` and by
# `ipfs-car pack` on this machine, several runs each, plus `openssl speed -elapsed sha256` as the hashing
# ceiling (wall clock, like the other timings). Prints MB/s (10^6 bytes per second, best of the runs) and the ratios.
# Targets: carport >= 0.8x the sha256 ceiling, >= 3x ipfs-car.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
MIB=${MIB:-256}
CARPORT=${CARPORT_BIN:-target/release/carport}
IPFS_CAR=tests/node_modules/.bin/ipfs-car
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

head -c $((MIB << 20)) /dev/urandom > "$work/input.bin"
bytes=$((MIB << 20))

best() { # best() CMD... -> fastest wall time in seconds over $RUNS runs
  local best=
  for _ in $(seq "$RUNS"); do
    local t0 t1
    t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N)
    best=$(echo "$t0 $t1 $best" | awk '{d=$2-$1; if ($3=="" || d<$3) print d; else print $3}')
  done
  echo "$best"
}

mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.0f", b / s / 1e6 }'; }

t_carport=$(best "$CARPORT" pack "$work/input.bin" --profile ipfs-car -o "$work/carport.car")
t_ipfscar=$(best node "$IPFS_CAR" pack "$work/input.bin" --no-wrap -o "$work/ipfs-car.car")
root_a=$("$CARPORT" roots "$work/carport.car"); root_b=$("$CARPORT" roots "$work/ipfs-car.car")
[ "$root_a" = "$root_b" ] || { echo "roots differ: $root_a vs $root_b" >&2; exit 1; }

# openssl's 1 MiB-block sha256 figure, in kB/s (1000 bytes), is the last column.
ceiling_kbs=$(openssl speed -elapsed -bytes 1048576 -seconds 2 sha256 2>/dev/null | awk '/^sha256/ {v=$NF} END {sub("k","",v); print v}')
ceiling=$(awk -v k="$ceiling_kbs" 'BEGIN { printf "%.0f", k / 1000 }')

a=$(mbps "$t_carport"); b=$(mbps "$t_ipfscar")
printf 'input          %d MiB random, best of %d runs, same root %s\n' "$MIB" "$RUNS" "$root_a"
printf 'carport pack   %6d MB/s\n' "$a"
printf 'ipfs-car pack  %6d MB/s\n' "$b"
printf 'sha256 ceiling %6d MB/s (openssl speed -bytes 1048576 sha256)\n' "$ceiling"
awk -v a="$a" -v b="$b" -v c="$ceiling" 'BEGIN { printf "carport / ipfs-car  %.2fx (target >= 3x)\ncarport / ceiling   %.2fx (target >= 0.8x)\n", a / b, a / c }'
