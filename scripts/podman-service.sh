#!/usr/bin/env bash
# Starts rootful Podman's Docker-compatible API service on its own storage:
#   scripts/podman-service.sh DIR   ->  socket DIR/podman.sock, pid in DIR/service.pid
# Storage (--root/--runroot) lives under DIR, so it never touches the host's
# /var/lib/containers. Containers get the host's own file and process limits:
# Podman asks for 1048576 open files, which a runner without CAP_SYS_RESOURCE
# (a container itself) refuses with "error setting rlimit type 7".
# Stop it with: kill "$(cat DIR/service.pid)"
set -euo pipefail
dir=${1:?usage: podman-service.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
nofile=$(awk '/Max open files/{print $5}' /proc/self/limits)
nproc=$(awk '/Max processes/{print $4}' /proc/self/limits)
pidmax=$(cat /proc/sys/kernel/pid_max)
[[ "$nofile" == unlimited ]] && nofile=1048576
if [[ "$nproc" == unlimited ]] || ((nproc > pidmax)); then nproc=$pidmax; fi
printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n' "$nofile" "$nofile" "$nproc" "$nproc" >"$dir/containers.conf"
rm -f "$dir/podman.sock"
CONTAINERS_CONF="$dir/containers.conf" setsid podman --root "$dir/root" --runroot "$dir/runroot" \
  system service --time=0 "unix://$dir/podman.sock" >"$dir/service.log" 2>&1 </dev/null &
echo $! >"$dir/service.pid"
for _ in $(seq 1 50); do
  [[ -S "$dir/podman.sock" ]] && curl -sf --unix-socket "$dir/podman.sock" http://d/_ping >/dev/null && exit 0
  sleep 0.2
done
cat "$dir/service.log" >&2
echo "podman system service did not start" >&2
exit 1
