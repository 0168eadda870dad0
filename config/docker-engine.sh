#!/usr/bin/env bash
# Makes sure a Docker engine answers on /var/run/docker.sock, and that the containers tests' tools
# are there; starts an engine when none answers.
#   sudo config/docker-engine.sh        (CI: .ci/run calls it as root)
# Idempotent: an engine that already answers is left alone. Otherwise it installs Debian's
# docker.io (with apt) if dockerd is missing and starts dockerd in the background with no bridge
# network: containers use the host's network (`--network host`, network_mode: host), so no
# iptables rules and no 172.17.x addresses are made. The log is /var/log/quire-dockerd.log.
# As root it also installs what the tests use besides: Debian's docker-compose (1.29) and
# prometheus (its binary becomes the offline Prometheus image, config/offline-images.sh).
set -euo pipefail

answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  # --no-install-recommends: no bridge-utils, no apparmor, nothing the host-network engine needs.
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ "$(id -u)" -eq 0 ]; then
  missing=()
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  [ -x /usr/bin/prometheus ] || missing+=(prometheus)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "docker-engine: installing Debian's ${missing[*]}"
    apt_install "${missing[@]}"
  fi
fi

if command -v docker >/dev/null 2>&1 && answers; then
  echo "docker-engine: an engine already answers (server $(docker version --format '{{.Server.Version}}'))"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "docker-engine: no Docker engine answers and starting one needs root" >&2
  exit 1
fi

# No bridge, no iptables, in the engine's own settings, written before docker.io is installed: a
# machine with systemd starts the packaged service at once, and it must not make a bridge either.
# An existing daemon.json is the machine owner's and is kept.
if [ ! -e /etc/docker/daemon.json ]; then
  mkdir -p /etc/docker
  printf '{\n  "bridge": "none",\n  "iptables": false,\n  "ip-masq": false\n}\n' >/etc/docker/daemon.json
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker-engine: installing Debian's docker.io"
  apt_install docker.io
fi

# The service may be installed but stopped (no systemd in a container, say): start it by hand.
if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker-engine: starting dockerd (/etc/docker/daemon.json: $(tr -d ' \n' </etc/docker/daemon.json))"
  nohup dockerd --host=unix:///var/run/docker.sock </dev/null >>/var/log/quire-dockerd.log 2>&1 &
fi

for _ in $(seq 1 60); do
  if answers; then
    echo "docker-engine: ready (server $(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
echo "docker-engine: dockerd did not answer within 60 s; last lines of its log:" >&2
tail -n 20 /var/log/quire-dockerd.log >&2 || true
exit 1
