#!/bin/bash
# docs/cli.md is what `berth __docs` prints, and `berth completion bash` is a script bash
# accepts that completes verbs, sub-verbs and flags.
#   cli_reference_test.sh BERTH CLI_MD
set -euo pipefail
berth="$1"
committed="$2"

if ! diff -u "$committed" <("$berth" __docs); then
  echo "docs/cli.md differs from 'berth __docs': regenerate it with" >&2
  echo "  bazel build //ctl:berth && bazel-bin/ctl/berth __docs > docs/cli.md" >&2
  exit 1
fi

script="$("$berth" completion bash)"
bash -n <<<"$script"

# Completes as bash would, with no daemon behind (operands then complete to nothing).
complete_words() {
  bash -c '
    eval "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    _berth
    printf "%s\n" "${COMPREPLY[@]}"' _ "$script" "$@"
}
expect() {
  local want="$1"; shift
  local got
  got="$(complete_words "$@" | sort | tr '\n' ' ')"
  if [[ " $got" != *" $want "* ]]; then
    echo "completing '$*': want '$want' in: $got" >&2
    exit 1
  fi
}
expect ps berth p
expect --all berth ps --al
expect --namespace berth ps --names
expect prune berth image pr
expect ls berth container l
expect --force berth -n x container prune --fo
expect df berth system ""
# The daemon and namespace of the command line are the ones asked for operands: a fake berth
# on PATH says what it was given.
fake="$(mktemp -d)"
trap 'rm -rf "$fake"' EXIT
cat >"$fake/berth" <<'FAKE'
#!/bin/bash
echo "asked-$(echo "$@" | tr ' {}.' '____')"
FAKE
chmod +x "$fake/berth"
PATH="$fake:$PATH" expect "asked--H_unix:///x_sock_-n_ns_ps_-a_--format____Names__" \
  berth -H unix:///x.sock -n ns stop ""
echo PASS
