#!/usr/bin/python3
# The client side of scripts/bench/pop3 (issue 3). Three commands:
#   load PORT USERS PER_MAILBOX SIZE   deliver generated messages over SMTP (not timed)
#   dump PORT USERS MAILDIR            copy each mailbox, as POP3 RETR returns it, into
#                                      a Dovecot maildir (MAILDIR/<user>/cur): both servers
#                                      then hold byte-identical messages
#   run PORT USERS SERVER_PID [--digest]
#                                      one timed round: one process per mailbox, all
#                                      released together; each logs in (USER/PASS), STATs,
#                                      RETRs every message and QUITs (no DELE). Prints one
#                                      JSON line: messages, bytes, seconds, msg/s, CPU
#                                      seconds of the clients and of the server (its
#                                      process tree, reaped children included).
#   report                             the summary of `run` lines prefixed by the server name
# Accounts are user01..userNN@example.test, password "secret". The timed loop is plain
# poplib and nothing else, so the clients' own cost stays the same for both servers.
import hashlib
import json
import os
import poplib
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import PASSWORD, load, timed_round, user  # noqa: E402


def dump(port, users, maildir):
    total = 0
    for mailbox in range(1, users + 1):
        target = os.path.join(maildir, user(mailbox).split("@")[0])
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(target, sub), exist_ok=True)
        pop = poplib.POP3("127.0.0.1", port, timeout=60)
        pop.user(user(mailbox))
        pop.pass_(PASSWORD)
        count, _ = pop.stat()
        for number in range(1, count + 1):
            _, lines, octets = pop.retr(number)
            data = b"\r\n".join(lines) + b"\r\n"
            assert len(data) == octets, (len(data), octets)
            name = f"1700000000.M{number}P{mailbox}.bench,S={len(data)},W={len(data)}:2,"
            with open(os.path.join(target, "cur", name), "wb") as file:
                file.write(data)
            total += 1
        pop.quit()
    print(total)


def retrieve(port, mailbox, digest, start, results):
    start.wait()
    pop = poplib.POP3("127.0.0.1", port, timeout=120)
    pop.user(user(mailbox))
    pop.pass_(PASSWORD)
    count, _ = pop.stat()
    octets_total = 0
    hasher = hashlib.sha256() if digest else None
    for number in range(1, count + 1):
        _, lines, octets = pop.retr(number)
        octets_total += octets
        if hasher:
            hasher.update(b"\r\n".join(lines))
    pop.quit()
    results.put((mailbox, count, octets_total, hasher.hexdigest() if hasher else ""))


def run(port, users, server_pid, digest):
    rows, elapsed, client_cpu, server_cpu = timed_round(
        retrieve, [(port, mailbox, digest) for mailbox in range(1, users + 1)], server_pid)
    rows.sort()
    messages = sum(row[1] for row in rows)
    digests = hashlib.sha256("".join(row[3] for row in rows).encode()).hexdigest()[:16] if digest else ""
    print(json.dumps({"messages": messages, "bytes": sum(row[2] for row in rows), "seconds": elapsed,
                      "rate": messages / elapsed, "client_cpu": client_cpu, "server_cpu": server_cpu,
                      "digest": digests}))


def report(rows):
    """Rows "server {json}" from stdin, in the order run: one line each, then the medians."""
    rates = {}
    for number, row in enumerate(rows):
        server, line = row.split(" ", 1)
        r = json.loads(line)
        rates.setdefault(server, []).append(r["rate"])
        print(f"round {number // 2 + 1} {server:9s} {r['rate']:6.0f} msg/s  {r['seconds']:5.2f} s  "
              f"server CPU {r['server_cpu']:5.2f} s  clients CPU {r['client_cpu']:5.2f} s")
    median = {server: statistics.median(values) for server, values in rates.items()}
    per_round = ", ".join(f"{m / d:.2f}" for m, d in zip(rates["mailgate"], rates["dovecot"]))
    print(f"median: mailgate {median['mailgate']:.0f} msg/s, dovecot {median['dovecot']:.0f} msg/s, "
          f"ratio mailgate/dovecot {median['mailgate'] / median['dovecot']:.2f} (per round: {per_round})")

if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "load":
        load(int(args[0]), int(args[1]), int(args[2]), int(args[3]))
    elif command == "dump":
        dump(int(args[0]), int(args[1]), args[2])
    elif command == "run":
        run(int(args[0]), int(args[1]), int(args[2]), "--digest" in args)
    elif command == "report":
        report([line.rstrip("\n") for line in sys.stdin if line.strip()])
    else:
        sys.exit(f"unknown command {command}")
