#!/bin/bash
# Dataproc initialization action: installs Node.js on every node (master and workers), so Spark SQL
# TRANSFORM and Hadoop Streaming tasks can run Courier's stage bundles (`node <job>.stage.js …`).
# Courier stages this file next to the run's bundles and names it in the managed cluster's
# initializationActions; the version comes from the cluster metadata key courier-node-version
# (engine.dataproc.nodeVersion). For an existing cluster, create it with:
#   gcloud dataproc clusters create NAME --region REGION \
#     --initialization-actions gs://BUCKET/path/dataproc-init-node.sh \
#     --metadata courier-node-version=20.19.0
# See docs/dataproc.md.
set -euo pipefail

VERSION="$(/usr/share/google/get_metadata_value attributes/courier-node-version 2>/dev/null || true)"
VERSION="${VERSION:-20.19.0}"
if ! [[ "${VERSION}" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "courier-node-version metadata is '${VERSION}': expected MAJOR.MINOR.PATCH such as 20.19.0" >&2
  exit 1
fi

case "$(uname -m)" in
  x86_64) ARCH=x64 ;;
  aarch64) ARCH=arm64 ;;
  *) echo "no Node.js build for $(uname -m)" >&2; exit 1 ;;
esac

if command -v node >/dev/null 2>&1 && [[ "$(node --version)" == "v${VERSION}" ]]; then
  echo "Node.js v${VERSION} is already installed"
  exit 0
fi

NAME="node-v${VERSION}-linux-${ARCH}"
BASE="https://nodejs.org/dist/v${VERSION}"
TMP="$(mktemp -d)"
trap 'rm -rf "${TMP}"' EXIT

# Retried: a node's first minutes on the network can be flaky, and a failed init action fails the cluster.
for attempt in 1 2 3 4 5; do
  if curl -fsSL --retry 3 -o "${TMP}/${NAME}.tar.xz" "${BASE}/${NAME}.tar.xz" &&
     curl -fsSL --retry 3 -o "${TMP}/SHASUMS256.txt" "${BASE}/SHASUMS256.txt"; then
    break
  fi
  if [[ "${attempt}" == 5 ]]; then echo "could not download ${BASE}/${NAME}.tar.xz" >&2; exit 1; fi
  sleep $((attempt * 5))
done

# The tarball must match the checksum nodejs.org publishes for it.
(cd "${TMP}" && grep " ${NAME}.tar.xz\$" SHASUMS256.txt | sha256sum -c -)

mkdir -p /opt/courier-node
tar -xJf "${TMP}/${NAME}.tar.xz" -C /opt/courier-node
ln -sfn "/opt/courier-node/${NAME}" /opt/courier-node/current
# YARN containers run with a plain PATH: put node where /bin/bash -c finds it.
ln -sf /opt/courier-node/current/bin/node /usr/local/bin/node
ln -sf /opt/courier-node/current/bin/node /usr/bin/node
node --version
