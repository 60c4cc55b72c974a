# Shell helpers shared by the scripts in scripts/bench (sourced; the caller has done `cd`
# to the repository root and `set -euo pipefail`).

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }

# Sets BIN: $MAILGATE_BIN, or a release build with cross-module optimization in .build-bench.
mailgate_binary() {
    if [ -n "${MAILGATE_BIN:-}" ]; then
        BIN=$MAILGATE_BIN
    else
        swift build -c release -Xswiftc -cross-module-optimization --product mailgate --scratch-path .build-bench >/dev/null 2>&1 \
            || { echo "release build failed: run the line above to see why" >&2; exit 1; }
        BIN=$PWD/.build-bench/release/mailgate
    fi
}

# Makes $WORK (readable by Dovecot's unprivileged processes) and removes it, with the
# servers, on exit.
bench_workdir() {
    WORK=$(mktemp -d)
    chmod 755 "$WORK"
    trap bench_cleanup EXIT
}
bench_cleanup() {
    [ -f "$WORK/dovecot/dovecot.conf" ] && doveadm -c "$WORK/dovecot/dovecot.conf" stop >/dev/null 2>&1 || true
    kill $(jobs -p) 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}

# mailgate_accounts CONFIG USERS: example.test with user01..userNN@example.test, password "secret".
mailgate_accounts() {
    "$BIN" --config "$1" domain add example.test >/dev/null
    for i in $(seq -w 1 "$2"); do
        echo secret | "$BIN" --config "$1" user add "user$i@example.test" --password-stdin --quota 1GB >/dev/null
    done
}

# dovecot_config DIR PROTOCOL PORT USERS [EXTRA]: a private Dovecot under DIR (own
# base_dir and state_dir, passwd-file users user01..userNN with SHA512-CRYPT hashes like
# mailgate's, maildir per user in DIR/mail owned by nobody, plaintext auth, no TLS), one
# listener for PROTOCOL (pop3 or imap) on 127.0.0.1:PORT; EXTRA is appended to the config.
# Start it with `dovecot -F -c DIR/dovecot.conf &`.
dovecot_config() {
    local dir=$1 protocol=$2 port=$3 users=$4 extra=${5:-} hash
    mkdir -p "$dir/run" "$dir/state" "$dir/mail"
    hash=$(doveadm pw -s SHA512-CRYPT -p secret)
    for i in $(seq -w 1 "$users"); do echo "user$i@example.test:$hash"; done > "$dir/passwd"
    cat > "$dir/dovecot.conf" <<CONF
protocols = $protocol
listen = 127.0.0.1
base_dir = $dir/run
state_dir = $dir/state
instance_name = bench-$protocol
log_path = $dir/log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:$dir/mail/%n
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT $dir/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$dir/mail/%n
}
service $protocol-login {
  inet_listener $protocol {
    port = $port
  }
  inet_listener ${protocol}s {
    port = 0
  }
}
$extra
CONF
}
