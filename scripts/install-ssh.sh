#!/usr/bin/env bash
# The agent's tests and benchmark verify targets over ssh against a real OpenSSH server on
# 127.0.0.1 (/usr/sbin/sshd, started by each test on a free port and stopped after it), and
# through an sshfs mount, and quote the remote command line for tcsh and fish too (some hosts'
# login shells). This installs Debian's openssh-server, openssh-client, sshfs, tcsh and fish when
# they are missing; it does nothing when they are there. Installing needs root.
set -euo pipefail
missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null || missing+=(openssh-client)
command -v sshfs >/dev/null || missing+=(sshfs)
command -v tcsh >/dev/null || missing+=(tcsh)
command -v fish >/dev/null || missing+=(fish)
if [ ${#missing[@]} -eq 0 ]; then
  echo "ssh: /usr/sbin/sshd, ssh, sshfs, tcsh and fish are there"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "missing: ${missing[*]}: run 'sudo apt-get update && sudo apt-get install -y ${missing[*]}' (the agent's ssh tests need them)." >&2
  exit 1
fi
echo "installing Debian's ${missing[*]} for the agent's ssh tests"
apt-get update -qq
# the package's own sshd service is not started: the tests run their own on a free port
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
/usr/sbin/sshd -V 2>&1 | head -1 || ssh -V
