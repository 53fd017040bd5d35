#!/usr/bin/env bash
# What `.finale/` holds after N runs of the README's command (default 100): a fresh git repository
# holding the build-test-deploy example, the README's first command `finale run` N times, then the size of the store and of the
# run files. Usage: bench/finale-size.sh [N]
set -euo pipefail
n=${1:-100}
here=$(cd "$(dirname "$0")/.." && pwd)
repo=$(mktemp -d)
stop_server() {
  local pid
  pid=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(".finale/server.json","utf8")).pid)' 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
}
trap 'cd "$repo" && stop_server; sleep 1; rm -rf "$repo"' EXIT
mkdir -p "$repo/examples" && cp -r "$here/examples/build-test-deploy" "$repo/examples/"
cd "$repo"
git init -q && git add . && git -c user.email=b@e -c user.name=bench commit -qm bench
for i in $(seq 1 "$n"); do
  node "$here/bin/finale.js" run -f examples/build-test-deploy/bitbucket-pipelines.yml >/dev/null
  if [ "$i" = 20 ] || [ "$i" = 50 ] || [ "$i" = "$n" ]; then
    echo "after $i runs: .finale $(du -sk .finale | cut -f1) KB (store $(du -sk .finale/db | cut -f1) KB, runs $(du -sk .finale/runs | cut -f1) KB in $(find .finale/runs -mindepth 1 -maxdepth 1 | wc -l) folders)"
  fi
done
