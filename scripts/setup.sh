#!/usr/bin/env bash
# Installs what dmzgate needs, only where it is missing, then builds.
#   scripts/setup.sh run    - what the controller needs (Node packages, the build)
#   scripts/setup.sh test   - plus the Debian packages the test suite and benchmarks use
# Debian packages can only be installed as root; otherwise this names what is missing and fails.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-run}"

debs=()
if [ "$profile" = test ]; then
  # openvswitch-switch: ovsdb-server/ovs-vswitchd for integration tests (private instance, userspace datapath);
  # openvswitch-common: ovs-ofctl, the independent OpenFlow decoder; tshark: independent packet dissector;
  # python3-os-ken: the peer in benchmarks; iproute2/iputils-ping/ethtool/nftables/iperf3/mininet: namespaces and
  # the labs; gcc: the labs' userspace delay line (mininet/delayline.c), built at lab start; etcd-server: the
  # private etcd clusters of the etcd state backend's tests (lab/private-etcd.ts, on free loopback ports).
  debs=(openvswitch-switch openvswitch-common tshark python3-os-ken iproute2 iputils-ping ethtool nftables iperf3 mininet gcc etcd-server)
fi

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run as root or install them with apt-get" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # tshark asks whether non-root users may capture; the default (no) is right for us.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # etcd-server's postinst enables (and on a systemd host starts) a system etcd on 2379/2380. We installed it just
  # now for the tests' private clusters, so nobody uses that one yet: stop it and keep it off.
  if [[ " ${missing[*]} " == *" etcd-server "* ]] && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now etcd.service >/dev/null 2>&1 || true
  fi
fi

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  echo "setup: Node.js >= 20 is required" >&2
  exit 1
fi

# Reinstall when the lockfile changed since the last install.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# Build only when a source is newer than the build (the command wrapper runs this on every call).
if [ ! -f dist/bin/dmzgate.js ] || [ -n "$(find controller apps api bin bench emulator lab test mininet -name '*.ts' -newer dist/bin/dmzgate.js -print -quit 2>/dev/null)" ] \
   || [ tsconfig.json -nt dist/bin/dmzgate.js ] || [ package-lock.json -nt dist/bin/dmzgate.js ]; then
  npm run --silent build
  touch dist/bin/dmzgate.js
fi
