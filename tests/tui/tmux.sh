#!/usr/bin/env bash
# Drives the real TUI in a real terminal: `cockpit replay` on the demo dataset in a 120x40
# tmux pane, every tab and a drill-down, the help scrolled to its end, then `q`, and checks the
# shell is usable afterwards.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
cargo build --quiet --bin cockpit --example fixture
work="$(mktemp -d)"
session="cockpit-tui-$$"
cleanup() { tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
./target/debug/examples/fixture "$work/fleet.jsonl" 90 >/dev/null

tmux new-session -d -s "$session" -x 120 -y 40 \
  "cd '$root' && TERM=xterm-256color ./target/debug/cockpit replay '$work/fleet.jsonl'; echo SHELL-IS-BACK; stty -a >'$work/stty'; sleep 30"
screen() { tmux capture-pane -p -t "$session"; }
expect() {
  local want="$1" tries=50
  until screen | grep -qF -- "$want"; do
    tries=$((tries - 1))
    if [ "$tries" -le 0 ]; then
      echo "tmux: expected to see: $want" >&2
      screen >&2
      exit 1
    fi
    sleep 0.1
  done
}
press() { tmux send-keys -t "$session" "$@"; }

expect "AgentOps Cockpit"
expect "support-triage"
for step in "1:Agents" "2:By scenario" "3:Tools — sorted by" "4:Guardrails" "5:Tokens by model" \
            "6:Current version vs baseline" "7:Runs (Enter opens the waterfall)" "8:Approvals" "9:Incidents"; do
  press "${step%%:*}"
  expect "${step#*:}"
done
press 6 && expect "⚑ DRIFT"
press 7 && expect "Runs (Enter"
press Enter && expect "Trace " && expect "invoke_agent"
press j Enter && expect "Attributes"
press Escape && expect "timeline"
press Escape Escape && press ? && expect "Help — j/k scroll · Esc closes"
press G && expect ":quit"
press Escape && press q
expect "SHELL-IS-BACK"
for _ in $(seq 1 50); do [ -s "$work/stty" ] && break; sleep 0.1; done
if ! grep -q " echo" "$work/stty" || ! grep -q " icanon" "$work/stty"; then
  echo "tmux: the terminal was not restored (echo/icanon off)" >&2
  cat "$work/stty" >&2
  exit 1
fi
echo "tmux TUI walk-through: OK"
