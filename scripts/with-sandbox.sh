#!/usr/bin/env bash
# Runs a command with the Asterisk sandbox up (built on first use), and leaves
# the sandbox as it found it. A sandbox that cannot be built fails the command.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
was_running=0
"$here/sandbox.sh" status >/dev/null 2>&1 && was_running=1
"$here/sandbox.sh" up
[ "$was_running" = 1 ] || trap '"$here/sandbox.sh" down' EXIT
"$@"
