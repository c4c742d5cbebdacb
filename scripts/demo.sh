#!/bin/sh
# `npm run demo`: the whole flow on the embedded default, with the shipped example config.
#   1. synthetic input: two days of webapp sync logs and segment snapshots (with PII columns the refresher never reads);
#   2. the daily workflow for each day (refresher -> batch formatter -> hand-off): day two merges into day one's store;
#   3. what is in the store; the batch files delivered to the local delivery target;
#   4. the streaming path: bridge -> embedded broker -> syncer -> local partner endpoint.
# It starts from an empty demo store so every run shows the same thing: with no ./courier.yaml the example
# config's storage root (.courier/data) and delivery target (.courier/delivered) are demo-only and are reset here.
set -e
if [ -e courier.yaml ]; then
  echo "npm run demo uses the shipped example config and resets its demo store; move ./courier.yaml aside first" >&2
  exit 2
fi
rm -rf .courier/data .courier/delivered
courier() { node bin/courier.js --log-level warn "$@"; }
courier generate --logs 300k --segments 50k --days 2 --date 2026-11-23 --seed 7
echo
courier run daily-refresh --date 2026-11-22
echo
courier run daily-refresh --date 2026-11-23
echo
courier datasets
echo
courier deliver
echo
sh scripts/demo-streaming.sh
echo
courier report latest --html .courier/report.html > /dev/null
echo "run report of the last run: .courier/report.html (open it in a browser: file://$(pwd)/.courier/report.html; in the terminal: node bin/courier.js report latest)"
echo "status page: node bin/courier.js status --serve, then open http://127.0.0.1:8070/"
