#!/usr/bin/env bash
# Piece CID benchmark (not a test): the Filecoin piece CID (FRC-0069 v2) of a 256 MiB random file
# by `carport piece`, by @web3-storage/data-segment in Node (pure JS), and by the Rust-Wasm hasher
# fr32-sha2-256-trunc254-padded-binary-tree-multihash in Node, best of $RUNS runs each; all three
# must give the same CID. The ceiling is `openssl speed sha256` (1 MiB blocks) / 4: a piece hashes
# about twice its padded size (the leaves, then every level of the tree above them, halving), and
# each node hash is over 64 bytes, which SHA-256 pads to two compression blocks.
# Prints MB/s (10^6 bytes of payload per second). Targets: carport >= 0.8x the ceiling, >= 5x the JS.
# Needs: cargo build --release -p carport-cli; cd tests && npm ci.
# RUNS (default 3), JS_RUNS (default $RUNS; data-segment takes minutes per run at 256 MiB), MIB (256).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
JS_RUNS=${JS_RUNS:-$RUNS}
MIB=${MIB:-256}
CARPORT=${CARPORT_BIN:-target/release/carport}
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

mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN { printf "%.1f", b / s / 1e6 }'; }

# (a) carport, wall time of the whole process
t_carport=$(best "$CARPORT" piece "$work/input.bin")
cid_carport=$("$CARPORT" piece "$work/input.bin" | tail -n 1)
# (b), (c) Node: the helper reports the CID and its best time (file read + hashing, not Node's start)
IFS=$'\t' read -r cid_wasm t_wasm < <(node bench/piece-node.mjs wasm "$work/input.bin" "$RUNS")
IFS=$'\t' read -r cid_ds t_ds < <(node bench/piece-node.mjs data-segment "$work/input.bin" "$JS_RUNS")
if [ "$cid_carport" != "$cid_ds" ] || [ "$cid_carport" != "$cid_wasm" ]; then
  printf 'piece CIDs differ:\n  carport       %s\n  data-segment  %s\n  wasm          %s\n' "$cid_carport" "$cid_ds" "$cid_wasm" >&2
  exit 1
fi

# openssl's 1 MiB-block sha256 figure, in kB/s (1000 bytes), is the last column.
ceiling_kbs=$(openssl speed -bytes 1048576 -seconds 2 sha256 2>/dev/null | awk '/^sha256/ {v=$NF} END {sub("k","",v); print v}')
sha=$(awk -v k="$ceiling_kbs" 'BEGIN { printf "%.1f", k / 1000 }')
ceiling=$(awk -v s="$sha" 'BEGIN { printf "%.1f", s / 4 }')

a=$(mbps "$t_carport"); b=$(mbps "$t_ds"); c=$(mbps "$t_wasm")
printf 'input                %d MiB random, best of %d runs (data-segment %d), same piece CID %s\n' "$MIB" "$RUNS" "$JS_RUNS" "$cid_carport"
printf 'carport piece        %8.1f MB/s\n' "$a"
printf 'data-segment (JS)    %8.1f MB/s\n' "$b"
printf 'fr32 hasher (Wasm)   %8.1f MB/s\n' "$c"
printf 'ceiling              %8.1f MB/s (openssl speed -bytes 1048576 sha256: %.1f MB/s, / 4)\n' "$ceiling" "$sha"
awk -v a="$a" -v b="$b" -v c="$c" -v d="$ceiling" 'BEGIN {
  printf "carport / ceiling    %8.2fx (target >= 0.8x)\n", a / d
  printf "carport / JS         %8.1fx (target >= 5x)\n", a / b
  printf "carport / Wasm       %8.1fx\n", a / c }'
