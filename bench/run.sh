#!/usr/bin/env bash
# The benchmark suite (default), the soak (`bench/run.sh soak`) and the fault run
# (`bench/run.sh fault`); every option is listed by `bench/run.sh --help`. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  pg_ctlcluster --skip-systemctl-redirect 15 main start
fi
cargo build --release -p gridgov -p gridgov-bench
exec target/release/suite "$@"
