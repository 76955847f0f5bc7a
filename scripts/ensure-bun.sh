#!/usr/bin/env bash
# Usage: scripts/ensure-bun.sh VERSION PRIVATE_PREFIX
#
# Makes `bun` on PATH be Bun VERSION, installing it with npm (the only thing a
# fresh machine is assumed to have, with Node.js) when it is missing or another
# version: globally when npm's global prefix is writable (root, or a user-owned
# prefix), otherwise into PRIVATE_PREFIX, whose bin/ the Makefile puts first
# on PATH. npm 11 warns that bun's postinstall script is not allowed; the
# binary works without it, which is checked, and the script is allowed on a
# second attempt only if it does not.
set -euo pipefail

want=${1:?usage: ensure-bun.sh VERSION PRIVATE_PREFIX}
private=${2:?usage: ensure-bun.sh VERSION PRIVATE_PREFIX}
export PATH="$private/bin:$PATH"

have_bun() {
  hash -r
  command -v bun >/dev/null 2>&1 && [ "$(bun --version 2>/dev/null)" = "$want" ]
}

if have_bun; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "ensure-bun: error: npm is needed to install Bun $want (install Node.js 20 and npm first)" >&2
  exit 1
fi

# Attempts in order: global (when writable), then the private prefix (first on
# PATH, so it also wins over another version elsewhere on PATH); each without,
# then with, bun's postinstall script.
try_install() {
  local scripts
  for scripts in "" "--allow-scripts=bun"; do
    echo "ensure-bun: npm install $* $scripts bun@$want (found: $(bun --version 2>/dev/null || echo no bun))" >&2
    if npm install "$@" ${scripts:+"$scripts"} --no-fund --no-audit "bun@$want" >&2 && have_bun; then
      echo "ensure-bun: bun $(bun --version) at $(command -v bun)" >&2
      exit 0
    fi
  done
}

global=$(npm prefix -g)
if [ -w "$global" ] && { [ ! -e "$global/lib/node_modules" ] || [ -w "$global/lib/node_modules" ]; }; then
  try_install -g
fi
try_install -g --prefix "$private"

echo "ensure-bun: error: after installing, \`bun --version\` prints \"$(bun --version 2>&1 || true)\"" \
  "from $(command -v bun || echo 'no bun on PATH'), not $want" >&2
exit 1
