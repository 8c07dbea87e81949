# Sourced by the scripts that run the project's JavaScript (test.sh, demo.sh, lts-node.sh).
#
# use_lts_node: sets and exports NODE to the Node.js the project runs on, the LTS major that
# package.json pins as the `node` devDependency, and puts its directory first on PATH (so `npx`,
# the `#!/usr/bin/env node` of jest, tsc and eslint, and anything they spawn get it too).
# node_modules/.bin/node (that package's binary, fetched by its install script during `npm ci`)
# comes first; a `node` already on PATH will do when it is the same major (the Docker image's).
# Anything else is refused with what to do: the machine's own Node may be an older one.
use_lts_node() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  local pinned
  pinned=$(sed -n 's/^ *"node": "\([0-9][0-9.]*\)",\{0,1\}$/\1/p' "$root/package.json" | head -1)
  if [[ -z "$pinned" ]]; then
    echo "package.json pins no exact \"node\" devDependency; cannot tell which Node the project runs on." >&2
    return 1
  fi
  local want=${pinned%%.*} candidate version found=()
  for candidate in "$root/node_modules/.bin/node" "$(command -v node 2>/dev/null || true)"; do
    [[ -n "$candidate" && -x "$candidate" ]] || continue
    version=$("$candidate" -p 'process.versions.node' 2>/dev/null) || continue
    if [[ "${version%%.*}" == "$want" ]]; then
      NODE=$(cd "$(dirname "$candidate")" && pwd)/$(basename "$candidate")
      export NODE
      export PATH="$(dirname "$NODE"):$PATH"
      return 0
    fi
    found+=("$candidate is v$version")
  done
  cat >&2 <<EOF
case-intake runs on Node $want (the current LTS; package.json pins node@$pinned as a devDependency).
Found: ${found[*]:-no node at all}.
Run \`npm ci\` in $root: the \`node\` package's install script (allowed in package.json's
allowScripts) puts Node $pinned in node_modules/.bin. Or put a Node $want first on PATH.
EOF
  return 1
}
