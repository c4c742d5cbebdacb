#!/bin/sh
# The streaming half of `npm run demo`: the local partner endpoint of the example config (`courier partner-stub` on
# 127.0.0.1:8089, acme answering 5% of requests with 500s), then `courier sync` (bridge -> embedded broker -> syncer)
# until the queues are drained. The stub prints what it received when stopped: every request id, and how many twice.
set -e
mkdir -p .courier
log=.courier/partner-stub.log
node bin/courier.js partner-stub --port 8089 --partner acme:error-rate=0.05 > .courier/partner-stub.out 2> "$log" &
stub=$!
trap 'kill "$stub" 2>/dev/null || true' EXIT
tries=0
until grep -q "listening on" "$log"; do
  tries=$((tries + 1))
  if [ "$tries" -gt 300 ] || ! kill -0 "$stub" 2>/dev/null; then
    echo "the partner stub did not start:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
node bin/courier.js --log-level warn sync
kill "$stub"
wait "$stub" || true
trap - EXIT
echo "partner stub received:"
cat .courier/partner-stub.out
