#!/usr/bin/env bash
# Usage: scripts/ensure-test-deps.sh
#
# Makes sure the system tools the tests drive are installed (`make test` and
# `make e2e` run this first): tmux (terminal UI tests), openssl (TLS tests),
# git (the commit in `vault --version`), Chromium (browser tests, driven by
# playwright-core at /usr/bin/chromium) with the fonts it draws pages with,
# and libfaketime (moves a server's clock in the expiry tests).
#
# Only what is missing is installed, so a second run costs nothing. As root
# on Debian or Ubuntu it runs apt-get; otherwise it names the packages and the
# command that installs them, and fails: the tests that need them would fail
# later, less clearly.
set -euo pipefail

say() { printf 'ensure-test-deps: %s\n' "$*" >&2; }

# command -> Debian package
declare -A commands=([tmux]=tmux [openssl]=openssl [git]=git [chromium]=chromium [faketime]=faketime)
# file or directory (a glob) -> Debian package: what has no command of its own.
declare -A files=(
  ["/usr/share/fonts/truetype/liberation"]=fonts-liberation
  ["/usr/lib/*/faketime/libfaketime.so.1"]=libfaketime
)

missing_packages() {
  local out=() command pattern
  for command in "${!commands[@]}"; do
    command -v "$command" >/dev/null 2>&1 || out+=("${commands[$command]}")
  done
  for pattern in "${!files[@]}"; do
    # shellcheck disable=SC2086 # the pattern is a glob on purpose
    compgen -G "$pattern" >/dev/null || out+=("${files[$pattern]}")
  done
  ((${#out[@]} == 0)) || printf '%s\n' "${out[@]}" | sort -u
}

mapfile -t missing < <(missing_packages)
((${#missing[@]} == 0)) && exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  say "error: the tests need ${missing[*]}, which are not installed"
  if command -v apt-get >/dev/null 2>&1; then
    say "hint: install them as root: sudo apt-get install -y --no-install-recommends ${missing[*]}"
  else
    say "hint: install them with your system's package manager (Debian names: ${missing[*]})"
  fi
  exit 1
fi

say "installing ${missing[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  say "error: apt-get could not install ${missing[*]}"
  exit 1
fi
mapfile -t still < <(missing_packages)
if ((${#still[@]} > 0)); then
  say "error: still missing after apt-get: ${still[*]}"
  exit 1
fi
say "installed ${missing[*]}"
