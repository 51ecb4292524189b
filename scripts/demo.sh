#!/usr/bin/env bash
# The main job (README command 1). Until membership and collectives land it
# runs the transport benchmark: ECCL's striped channel between two processes
# on 127.0.0.1 against iperf3 with the same number of streams, same run.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target eccl-bench -j "${ECCL_JOBS:-$(nproc)}"
for connections in 1 4; do
  ./build/release/bin/eccl-bench p2p --size 256M --iters 5 --connections "$connections" \
    --compare iperf3
done
