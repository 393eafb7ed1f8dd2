# Shared by dmzgate-pre-transfer and dmzgate-post-transfer (sourced, not run).
#
# Exit statuses of both hooks (a wrapper branches on them):
#   0  done
#   2  the hook was called wrongly (missing option, no token): fix the wrapper
#   3  the API refused (HTTP 4xx: the token's constraints, the site policy, an overlapping lease, no such
#      lease, bad token): retrying the same request will not help; the transfer can still go the firewall path
#   4  the API could not be reached or could not do it now (no connection, HTTP 5xx: switch down, switch
#      error, timeout): retry later, or transfer without the bypass
#   5  (post only) the lease had already ended (expired, revoked or released) before the transfer did

# The dmzgate command: $DMZGATE_CLI (words split, e.g. "node /opt/dmzgate/dist/bin/dmzgate.js"), else `dmzgate`
# on the PATH, else the repository's ./dmzgate two folders up.
hook_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ -n "${DMZGATE_CLI:-}" ]]; then
  read -r -a dmzgate_cli <<<"$DMZGATE_CLI"
elif command -v dmzgate >/dev/null 2>&1; then
  dmzgate_cli=(dmzgate)
else
  dmzgate_cli=("$hook_dir/../../dmzgate")
fi

hook_name="$(basename "$0")"

die() { # STATUS MESSAGE
  echo "$hook_name: $2" >&2
  exit "$1"
}

# Runs `dmzgate ARGS... --json`: its JSON in $api_out; on failure returns the hook status above (2, 3 or 4) with
# the API's error code in $api_code and the command's message on standard error.
api_out='' api_code=''
dmzgate_call() {
  local err status=0 line http
  err="$(mktemp)"
  api_out="$("${dmzgate_cli[@]}" "$@" --json 2>"$err")" || status=$?
  api_code=''
  if ((status == 0)); then
    rm -f "$err"
    return 0
  fi
  # The CLI prints `dmzgate: CODE (HTTP NNN): message` for an API answer, `dmzgate: CODE: message` without one.
  line="$(grep -m1 '^dmzgate: ' "$err" || true)"
  cat "$err" >&2
  rm -f "$err"
  api_code="$(sed -n 's/^dmzgate: \([A-Z0-9_]*\)[ :].*/\1/p' <<<"$line")"
  http="$(sed -n 's/^dmzgate: [A-Z0-9_]* (HTTP \([0-9]*\)).*/\1/p' <<<"$line")"
  if ((status == 2)); then return 2; fi
  if [[ "$http" =~ ^4 ]]; then return 3; fi
  return 4
}

# The value of a top-level key of one JSON object on stdin (node is there: dmzgate runs on it).
json_field() {
  node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { const v = JSON.parse(s)[process.argv[1]]; if (v === undefined) process.exit(1); console.log(v); });' "$1"
}
