#!/usr/bin/env bash
# Runs ConcatDemandRace.java against the Reactor Core that Quire's jar ships: two threads request a
# fresh Flux.concat of two Monos at once, and it counts the concats that never complete. Eighteenth
# session, Reactor Core 3.8.8 on this 2-core machine: 66 of 109,689,000 in 40 s (3.8.9: 81 of
# 89,386,000 in 30 s). This race is why io.quire.api.Sse does not write with writeAndFlushWith.
#
#   ./mvnw -q package -DskipTests && JAVA_HOME=... bash src/bench/concat-race.sh [SECONDS]
set -euo pipefail
JAVA=${JAVA_HOME:?set JAVA_HOME to a JDK 25}/bin/java
JAR=${QUIRE_JAR:-$(ls target/quire-*.jar | grep -v original | head -1)}
LIB=$(mktemp -d)
trap 'rm -rf "$LIB"' EXIT
unzip -q -j "$JAR" 'BOOT-INF/lib/reactor-core-*.jar' 'BOOT-INF/lib/reactive-streams-*.jar' -d "$LIB"
ls "$LIB"
"$JAVA" -cp "$(ls "$LIB"/*.jar | paste -sd:)" "$(dirname "$0")/ConcatDemandRace.java" "${1:-30}"
