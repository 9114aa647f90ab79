#!/bin/sh
# Rebuilds ../hello.jar from Hello.java with the host's JDK (17 or newer), byte for
# byte the same on every run: class files for Java 17, fixed entry timestamps.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
javac --release 17 -d "$tmp" Hello.java
jar --create --file ../hello.jar --main-class Hello --date 2000-01-01T00:00:02Z -C "$tmp" .
echo "wrote $(cd .. && pwd)/hello.jar"
