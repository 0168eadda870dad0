#!/usr/bin/env bash
# Builds, without any image registry, the base images the offline Quire stack uses:
#   quire-jre:25            a Java 25 runtime made with jlink from the local JDK, plus the shared
#                           libraries it needs; stands in for eclipse-temurin:25-jre as the BASE of
#                           config/Dockerfile
#   quire-prometheus:local  Debian's prometheus binary with its libc; stands in for prom/prometheus
# Each is a filesystem tree imported with `docker import`: nothing is pulled. Then:
#   docker build -f config/Dockerfile --build-arg BASE=quire-jre:25 -t quire .
#   QUIRE_BASE=quire-jre:25 PROMETHEUS_IMAGE=quire-prometheus:local docker-compose up --build quire prometheus
# Needs a Docker engine (config/docker-engine.sh), a JDK 25 at JAVA_HOME (or
# /usr/lib/jvm/temurin-25-jdk-amd64) and /usr/bin/prometheus (Debian's prometheus package) for the
# second image. An image built by this same script from the same JDK and prometheus binary is kept
# (the label quire.recipe says which); --force rebuilds.
set -euo pipefail

JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
JRE_IMAGE=${JRE_IMAGE:-quire-jre:25}
PROMETHEUS_IMAGE=${PROMETHEUS_IMAGE:-quire-prometheus:local}
force=false
[ "${1:-}" = "--force" ] && force=true

# A hash of this script and what the image is made from: an image with another is rebuilt.
recipe() { cat "$0" "$@" 2>/dev/null | sha256sum | cut -c1-16; }
have_image() {
  ! $force && [ "$(docker image inspect -f '{{index .Config.Labels "quire.recipe"}}' "$1" 2>/dev/null)" = "$2" ]
}

# Copies each file with its directory path into the tree $1, following symlinks to the real file.
copy_libs() {
  local root=$1; shift
  for lib in "$@"; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# The shared libraries the ELF files given need, as ldd resolves them here (plus the loader).
needed_libs() {
  ldd "$@" 2>/dev/null | awk '/=> \// { print $3 } /^[ \t]*\/lib/ { print $1 }' | sort -u
}

# The common skeleton: /etc/passwd and /etc/group with one user, a world-writable /tmp.
skeleton() {
  local root=$1 user=$2 uid=$3 home=$4
  mkdir -p "$root/etc" "$root/tmp" "$root$home"
  chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\n%s:x:%s:%s:%s:%s:/sbin/nologin\n' "$user" "$uid" "$uid" "$user" "$home" >"$root/etc/passwd"
  printf 'root:x:0:\n%s:x:%s:\n' "$user" "$uid" >"$root/etc/group"
  chown "$uid:$uid" "$root$home"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

jre_recipe=$(recipe "$JAVA_HOME/release")
prometheus_recipe=$(recipe /usr/bin/prometheus "$(dirname "$0")/prometheus.yml")

if have_image "$JRE_IMAGE" "$jre_recipe"; then
  echo "offline-images: $JRE_IMAGE exists"
else
  root=$work/jre
  # The modules: java.se (everything Spring Boot, Netty and Jinjava may reach), the Vector API,
  # jdk.unsupported (sun.misc.Unsafe for Netty), jdk.management (Actuator's process and JVM
  # metrics), jdk.crypto.ec, jdk.naming.dns (Netty's DNS), jdk.zipfs, jdk.httpserver (LoadingServer:
  # /health and the page while the model loads, before Netty starts). jdeps on the jar's classes
  # and libraries asks for a subset of these (docs/containers.md).
  "$JAVA_HOME/bin/jlink" --output "$root/opt/java/openjdk" \
    --add-modules java.se,jdk.incubator.vector,jdk.unsupported,jdk.management,jdk.crypto.ec,jdk.naming.dns,jdk.zipfs,jdk.jfr,jdk.httpserver \
    --strip-debug --no-header-files --no-man-pages --compress=zip-6 --generate-cds-archive
  # The libraries of the JVM's own .so files, but for the X11 window, splash screen and sound ones
  # a headless server never loads; plus libstdc++ and libgcc_s, which the CUDA backend's JavaCPP
  # natives need when quire.device probes for a GPU.
  mapfile -t libs < <(needed_libs "$root/opt/java/openjdk/bin/java" \
    $(find "$root/opt/java/openjdk/lib" -name '*.so' ! -name 'libawt_xawt.so' ! -name 'libsplashscreen.so' ! -name 'libjsound.so') \
    /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/x86_64-linux-gnu/libgcc_s.so.1)
  copy_libs "$root" "${libs[@]}" /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib/x86_64-linux-gnu/libgcc_s.so.1
  skeleton "$root" quire 10001 /home/quire
  mkdir -p "$root/app" "$root/models"
  tar --numeric-owner -C "$root" -c . | docker import \
    --change 'ENV JAVA_HOME=/opt/java/openjdk' \
    --change 'ENV PATH=/opt/java/openjdk/bin:/usr/bin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL quire.recipe=$jre_recipe" \
    - "$JRE_IMAGE" >/dev/null
  echo "offline-images: built $JRE_IMAGE ($(docker image inspect -f '{{.Size}}' "$JRE_IMAGE") bytes)"
fi

if have_image "$PROMETHEUS_IMAGE" "$prometheus_recipe"; then
  echo "offline-images: $PROMETHEUS_IMAGE exists"
elif [ ! -x /usr/bin/prometheus ]; then
  echo "offline-images: /usr/bin/prometheus is missing (apt-get install prometheus); $PROMETHEUS_IMAGE not built" >&2
  exit 1
else
  root=$work/prometheus
  mkdir -p "$root/bin" "$root/etc/prometheus" "$root/prometheus"
  cp /usr/bin/prometheus "$root/bin/prometheus"
  mapfile -t libs < <(needed_libs /usr/bin/prometheus)
  copy_libs "$root" "${libs[@]}"
  skeleton "$root" nobody 65534 /nonexistent
  chown 65534:65534 "$root/prometheus"
  cp "$(dirname "$0")/prometheus.yml" "$root/etc/prometheus/prometheus.yml"
  # The same entry point, arguments, user and data folder as prom/prometheus, so the compose file
  # runs either.
  tar --numeric-owner -C "$root" -c . | docker import \
    --change "LABEL quire.recipe=$prometheus_recipe" \
    --change 'USER 65534' \
    --change 'WORKDIR /prometheus' \
    --change 'VOLUME /prometheus' \
    --change 'EXPOSE 9090' \
    --change 'ENTRYPOINT ["/bin/prometheus"]' \
    --change 'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]' \
    - "$PROMETHEUS_IMAGE" >/dev/null
  echo "offline-images: built $PROMETHEUS_IMAGE ($(docker image inspect -f '{{.Size}}' "$PROMETHEUS_IMAGE") bytes)"
fi
