#!/bin/sh
# npm run chaos: the request flow under faults (bench/chaos.ts), then the file deliverer under faults
# (bench/file-chaos.ts), each at its defaults; exits non-zero if either part found anything lost, doubled or left.
# Each part also runs alone with its own options (see the header of each file).
set -eu
cd "$(dirname "$0")/.."
if [ "$#" -gt 0 ]; then
  echo "npm run chaos takes no options; run a part with its own: npx tsx bench/chaos.ts [--requests N] [--seed N] [--kill-every-ms N] [--max-minutes N], npx tsx bench/file-chaos.ts [--days N] [--partners N] [--seed N] [--kill-every-ms N] [--max-minutes N]" >&2
  exit 2
fi
npx tsx bench/chaos.ts
npx tsx bench/file-chaos.ts
