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
import multiprocessing
import os
import poplib
import smtplib
import statistics
import sys
import time

DOMAIN = "example.test"
PASSWORD = "secret"
TICKS = os.sysconf("SC_CLK_TCK")


def user(index):
    return f"user{index:02d}@{DOMAIN}"


def message(mailbox, number, size):
    """A plain-text message of about `size` bytes with CRLF lines; a few body lines
    start with "." so both servers byte-stuff."""
    header = (f"From: Sender <sender@remote.test>\r\nTo: {user(mailbox)}\r\n"
              f"Subject: benchmark message {number} for mailbox {mailbox}\r\n"
              f"Message-ID: <{mailbox}.{number}@bench.example.test>\r\n"
              f"Date: Mon, 01 Jan 2024 00:00:00 +0000\r\nMIME-Version: 1.0\r\n"
              f"Content-Type: text/plain; charset=us-ascii\r\n\r\n")
    lines = []
    length = len(header)
    line_number = 0
    while length < size:
        line_number += 1
        prefix = "." if line_number % 40 == 0 else ""
        line = f"{prefix}{mailbox:02d}-{number:03d}-{line_number:03d} " + \
            "the quick brown fox jumps over the lazy dog 0123456789 abcdefghij"
        lines.append(line)
        length += len(line) + 2
    return (header + "\r\n".join(lines) + "\r\n").encode()


def load(port, users, per_mailbox, size):
    def deliver(mailboxes):
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
            for mailbox in mailboxes:
                for number in range(1, per_mailbox + 1):
                    smtp.sendmail("sender@remote.test", [user(mailbox)], message(mailbox, number, size))
    workers = [multiprocessing.Process(target=deliver, args=(range(first, users + 1, 4),))
               for first in range(1, min(users, 4) + 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            sys.exit("loading over SMTP failed")


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


def tree_ticks(pid):
    """CPU ticks of pid and its live descendants, with their reaped children."""
    children = {}
    stats = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state (field 3): ppid is field 4, utime..cstime fields 14-17.
        children.setdefault(int(fields[1]), []).append(int(entry))
        stats[int(entry)] = sum(int(value) for value in fields[11:15])
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        total += stats.get(current, 0)
        pending.extend(children.get(current, []))
    return total


def run(port, users, server_pid, digest):
    start = multiprocessing.Event()
    results = multiprocessing.Queue()
    clients = [multiprocessing.Process(target=retrieve, args=(port, mailbox, digest, start, results))
               for mailbox in range(1, users + 1)]
    for client in clients:
        client.start()
    time.sleep(0.5)  # every client imported and waiting
    server_before = tree_ticks(server_pid)
    clients_before = os.times()
    began = time.perf_counter()
    start.set()
    rows = [results.get(timeout=600) for _ in clients]
    elapsed = time.perf_counter() - began
    for client in clients:
        client.join()
        if client.exitcode != 0:
            sys.exit(f"a client failed (exit {client.exitcode})")
    clients_after = os.times()
    server_cpu = (tree_ticks(server_pid) - server_before) / TICKS
    client_cpu = (clients_after.children_user + clients_after.children_system
                  - clients_before.children_user - clients_before.children_system)
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
