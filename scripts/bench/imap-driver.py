#!/usr/bin/python3
# The client side of scripts/bench/imap (issue 5). Commands:
#   load PORT USERS PER_MAILBOX SIZE   deliver generated messages over SMTP (not timed)
#   dump PORT USERS MAILDIR            copy each INBOX, as IMAP BODY.PEEK[] returns it, into a
#                                      Dovecot maildir (MAILDIR/<user>/cur): both servers then
#                                      hold byte-identical messages
#   fetch PORT USERS SERVER_PID [--digest]
#                                      one timed fetch round: one imaplib process per mailbox,
#                                      all released together; each logs in, SELECTs INBOX,
#                                      FETCHes 1:* (BODY.PEEK[]) and logs out. One JSON line.
#   mixed PORT USERS PER_MAILBOX SERVER_PID SECONDS [ROLE]
#                                      the mixed load: 50 imaplib processes, logged in and
#                                      SELECTed before the clock starts, five per account on
#                                      USERS accounts, each in one role for SECONDS:
#                                        select   SELECT INBOX again and again
#                                        headers  FETCH n:n+9 (UID FLAGS BODY.PEEK[HEADER])
#                                        bodies   FETCH n (BODY.PEEK[])
#                                        store    STORE n +FLAGS / -FLAGS (\Flagged), in turn
#                                        append   APPEND a ~10 KB message, then "EXPUNGE" it:
#                                                 UID STORE uid +FLAGS.SILENT (\Deleted) and
#                                                 EXPUNGE, timed together (so the mailbox
#                                                 keeps PER_MAILBOX messages)
#                                      n is random in 1..PER_MAILBOX. The sessions of one account
#                                      see each other's changes (untagged FETCH, EXISTS,
#                                      EXPUNGE). With ROLE, all 50 clients take that role
#                                      (one operation alone). One JSON line: per operation
#                                      its count, errors and latencies (mean, median, p99),
#                                      and CPU.
#   idle PORT SMTP_PORT USERS CONNECTIONS SERVER_PID
#                                      CONNECTIONS raw-socket connections (asyncio, one
#                                      process), spread over USERS accounts: LOGIN, SELECT
#                                      INBOX, IDLE. Reads the server's RSS with all of them
#                                      idling, then delivers one message over SMTP to user01
#                                      and times the untagged EXISTS on each of user01's
#                                      connections. One JSON line.
#   report                             the summary of `fetch` and `mixed` lines, each prefixed
#                                      by the server name
# Accounts are user01..userNN@example.test, password "secret".
import asyncio
import hashlib
import imaplib
import json
import os
import random
import re
import resource
import smtplib
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import PASSWORD, load, message, rss_kb, timed_round, user  # noqa: E402

OPERATIONS = ["SELECT", "FETCH header", "FETCH body", "STORE", "APPEND", "EXPUNGE"]
ROLES = ["select", "headers", "bodies", "store", "append"]
CLIENTS = 50
SIZE = 10240


def login(port, mailbox):
    imap = imaplib.IMAP4("127.0.0.1", port, timeout=300)
    imap.login(user(mailbox), PASSWORD)
    typ, data = imap.select("INBOX")
    if typ != "OK":
        sys.exit(f"SELECT failed for {user(mailbox)}: {data}")
    return imap, int(data[0])


def literals(data):
    """The literal parts (message bytes) of an imaplib FETCH answer, in order."""
    return [part[1] for part in data if isinstance(part, tuple)]


def dump(port, users, maildir):
    total = 0
    for mailbox in range(1, users + 1):
        target = os.path.join(maildir, user(mailbox).split("@")[0])
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(target, sub), exist_ok=True)
        imap, count = login(port, mailbox)
        typ, data = imap.fetch("1:*", "(BODY.PEEK[])")
        bodies = literals(data)
        assert typ == "OK" and len(bodies) == count, (typ, len(bodies), count)
        for number, body in enumerate(bodies, 1):
            name = f"1700000000.M{number}P{mailbox}.bench,S={len(body)},W={len(body)}:2,"
            with open(os.path.join(target, "cur", name), "wb") as file:
                file.write(body)
            total += 1
        imap.logout()
    print(total)


# ---- fetch throughput ------------------------------------------------------------------

def fetch_all(port, mailbox, digest, start, results):
    start.wait()
    imap, count = login(port, mailbox)
    typ, data = imap.fetch("1:*", "(BODY.PEEK[])")
    bodies = literals(data)
    imap.logout()
    if typ != "OK" or len(bodies) != count:
        sys.exit(f"FETCH of {user(mailbox)}: {typ}, {len(bodies)} of {count} messages")
    hasher = hashlib.sha256() if digest else None
    if hasher:
        for body in bodies:
            hasher.update(body)
    results.put((mailbox, count, sum(len(body) for body in bodies), hasher.hexdigest() if hasher else ""))


def fetch(port, users, server_pid, digest):
    rows, elapsed, client_cpu, server_cpu = timed_round(
        fetch_all, [(port, mailbox, digest) for mailbox in range(1, users + 1)], server_pid)
    rows.sort()
    messages = sum(row[1] for row in rows)
    digests = hashlib.sha256("".join(row[3] for row in rows).encode()).hexdigest()[:16] if digest else ""
    print(json.dumps({"kind": "fetch", "messages": messages, "bytes": sum(row[2] for row in rows),
                      "seconds": elapsed, "rate": messages / elapsed, "client_cpu": client_cpu,
                      "server_cpu": server_cpu, "server_rss_kb": rss_kb(server_pid), "digest": digests}))


# ---- mixed load ------------------------------------------------------------------------

def mixed_client(port, index, users, per_mailbox, seconds, only, ready, start, results):
    role = only or ROLES[index % len(ROLES)]
    mailbox = index // len(ROLES) % users + 1
    rng = random.Random(index)
    imap, _ = login(port, mailbox)
    body = message(mailbox, 1000 + index, SIZE)
    latencies = {operation: [] for operation in OPERATIONS}
    errors = {operation: 0 for operation in OPERATIONS}
    first_error = ""
    flagged = False
    ready.put(index)
    start.wait()
    began = time.perf_counter()
    deadline = began + seconds
    now = began
    while now < deadline:
        ok = True
        if role == "select":
            operation = "SELECT"
            typ, data = imap.select("INBOX")
            ok = typ == "OK" and int(data[0]) >= per_mailbox
        elif role == "headers":
            operation = "FETCH header"
            first = rng.randint(1, per_mailbox - 9)
            typ, data = imap.fetch(f"{first}:{first + 9}", "(UID FLAGS BODY.PEEK[HEADER])")
            ok = typ == "OK" and len(literals(data)) == 10
        elif role == "bodies":
            operation = "FETCH body"
            typ, data = imap.fetch(str(rng.randint(1, per_mailbox)), "(BODY.PEEK[])")
            ok = typ == "OK" and len(literals(data)) == 1 and len(literals(data)[0]) > SIZE
        elif role == "store":
            operation = "STORE"
            typ, data = imap.store(str(rng.randint(1, per_mailbox)), "-FLAGS" if flagged else "+FLAGS", "(\\Flagged)")
            flagged = not flagged
        else:
            operation = "APPEND"
            typ, data = imap.append("INBOX", None, None, body)
            found = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"") if typ == "OK" else None
            ok = found is not None
            if ok:
                after = time.perf_counter()
                latencies["APPEND"].append(after - now)
                now = after
                operation = "EXPUNGE"
                typ, data = imap.uid("STORE", found.group(1).decode(), "+FLAGS.SILENT", "(\\Deleted)")
                if typ == "OK":
                    typ, data = imap.expunge()
        after = time.perf_counter()
        if ok and typ == "OK":
            latencies[operation].append(after - now)
        else:
            errors[operation] += 1
            first_error = first_error or f"{operation}: {typ} {data!r}"[:300]
        now = after
    imap.logout()
    results.put((index, now - began, latencies, errors, first_error))


def percentile(values, fraction):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def mixed(port, users, per_mailbox, server_pid, seconds, only=None):
    rows, elapsed, client_cpu, server_cpu = timed_round(
        mixed_client, [(port, index, users, per_mailbox, seconds, only) for index in range(CLIENTS)],
        server_pid, ready=True)
    loop_seconds = statistics.mean(row[1] for row in rows)
    operations = {}
    for operation in OPERATIONS:
        values = [value for row in rows for value in row[2][operation]]
        operations[operation] = {
            "count": len(values), "errors": sum(row[3][operation] for row in rows),
            "rate": len(values) / loop_seconds,
            "mean_ms": 1000 * statistics.mean(values) if values else 0.0,
            "p50_ms": 1000 * percentile(values, 0.5), "p99_ms": 1000 * percentile(values, 0.99)}
    print(json.dumps({"kind": "mixed", "role": only or "mixed", "seconds": loop_seconds, "operations": operations,
                      "client_cpu": client_cpu, "server_cpu": server_cpu,
                      "server_rss_kb": rss_kb(server_pid), "server_peak_rss_kb": rss_kb(server_pid, "VmHWM"),
                      "first_error": next((row[4] for row in rows if row[4]), "")}))


# ---- IDLE ------------------------------------------------------------------------------

async def read_until(reader, prefix):
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError(f"closed while waiting for {prefix!r}")
        if line.startswith(prefix):
            return line


async def open_idle(port, mailbox, gate, connections):
    async with gate:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await read_until(reader, b"* ")
        writer.write(f"a LOGIN {user(mailbox)} {PASSWORD}\r\n".encode())
        line = await read_until(reader, b"a ")
        if not line.startswith(b"a OK"):
            raise ConnectionError(f"LOGIN: {line!r}")
        writer.write(b"b SELECT INBOX\r\n")
        line = await read_until(reader, b"b ")
        if not line.startswith(b"b OK"):
            raise ConnectionError(f"SELECT: {line!r}")
        writer.write(b"c IDLE\r\n")
        await read_until(reader, b"+")
    connections.append((mailbox, reader, writer))


async def woken(reader):
    line = await read_until(reader, b"* ")
    while not line.rstrip().endswith(b"EXISTS"):
        line = await read_until(reader, b"* ")
    return time.perf_counter()


async def idle_async(port, smtp_port, users, count, server_pid):
    rss_before = rss_kb(server_pid)
    connections = []
    gate = asyncio.Semaphore(100)   # logins in flight at once
    began = time.perf_counter()
    tasks = [asyncio.create_task(open_idle(port, index % users + 1, gate, connections)) for index in range(count)]
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    setup = time.perf_counter() - began
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    await asyncio.sleep(5)
    rss_idle, peak_idle = rss_kb(server_pid), rss_kb(server_pid, "VmHWM")
    # Wake user01's idling connections with one SMTP delivery.
    mine = [reader for mailbox, reader, _ in connections if mailbox == 1]
    waiters = [asyncio.create_task(woken(reader)) for reader in mine]
    sent = time.perf_counter()

    def deliver():
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as smtp:
            smtp.sendmail("sender@remote.test", [user(1)], message(1, 999, 2048))
        return time.perf_counter()
    accepted = await asyncio.get_running_loop().run_in_executor(None, deliver)
    done, pending = await asyncio.wait(waiters, timeout=30)
    wake_times = sorted(task.result() for task in done if task.exception() is None)
    for task in pending:
        task.cancel()
    alive = sum(1 for _, reader, _ in connections if not reader.at_eof())
    result = {
        "kind": "idle", "connections": count, "established": len(connections), "failed": len(failures),
        "first_failure": repr(failures[0])[:300] if failures else "", "setup_seconds": setup,
        "still_open": alive, "rss_before_kb": rss_before, "rss_idle_kb": rss_idle, "peak_rss_kb": peak_idle,
        "rss_after_wake_kb": rss_kb(server_pid), "wake_connections": len(mine), "woken": len(wake_times),
        "smtp_ms": 1000 * (accepted - sent),
        "wake_first_ms": 1000 * (wake_times[0] - sent) if wake_times else None,
        "wake_last_ms": 1000 * (wake_times[-1] - sent) if wake_times else None}
    for _, _, writer in connections:
        writer.close()
    await asyncio.sleep(2)
    result["rss_after_close_kb"] = rss_kb(server_pid)
    print(json.dumps(result))


def idle(port, smtp_port, users, count, server_pid):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1000), hard))
    asyncio.run(idle_async(port, smtp_port, users, count, server_pid))


# ---- report ----------------------------------------------------------------------------

def report(rows):
    """Rows "server {json}" from stdin: each fetch round, the fetch medians, then the
    mixed load's table (one column pair per run when there are several)."""
    fetch_rates, mixed_runs = {}, {}
    number = {}
    for row in rows:
        server, line = row.split(" ", 1)
        r = json.loads(line)
        if r["kind"] == "fetch":
            fetch_rates.setdefault(server, []).append(r["rate"])
            number[server] = number.get(server, 0) + 1
            print(f"fetch round {number[server]} {server:9s} {r['rate']:6.0f} msg/s  {r['seconds']:5.2f} s  "
                  f"server CPU {r['server_cpu']:5.2f} s  clients CPU {r['client_cpu']:5.2f} s")
        elif r["kind"] == "mixed":
            mixed_runs.setdefault(server, []).append(r)
    if fetch_rates:
        median = {server: statistics.median(values) for server, values in fetch_rates.items()}
        per_round = ", ".join(f"{m / d:.2f}" for m, d in zip(fetch_rates["mailgate"], fetch_rates["dovecot"]))
        print(f"fetch median: mailgate {median['mailgate']:.0f} msg/s, dovecot {median['dovecot']:.0f} msg/s, "
              f"ratio mailgate/dovecot {median['mailgate'] / median['dovecot']:.2f} (per round: {per_round})")
    mixed = {server: [r for r in runs if r["role"] == "mixed"] for server, runs in mixed_runs.items()}
    alone = {server: {op: r["operations"][op] for r in runs if r["role"] != "mixed"
                      for op in OPERATIONS if r["operations"][op]["count"]}
             for server, runs in mixed_runs.items()}
    for run, (mg, dc) in enumerate(zip(mixed.get("mailgate", []), mixed.get("dovecot", [])), 1):
        print(f"\nmixed load run {run}: {CLIENTS} clients, {mg['seconds']:.0f} s per server; "
              f"operations/s, latency mean / p99 in ms, errors; \"alone\": all {CLIENTS} clients on that "
              f"operation only")
        print(f"{'operation':13s} {'mailgate':>8s} {'dovecot':>8s} {'ratio':>5s}  "
              f"{'mailgate ms':>12s} {'dovecot ms':>12s} {'errors':>6s}  "
              f"{'alone: mailgate':>15s} {'dovecot':>8s} {'ratio':>5s}")
        for operation in OPERATIONS:
            a, b = mg["operations"][operation], dc["operations"][operation]
            ratio = a["rate"] / b["rate"] if b["rate"] else float("nan")
            line = (f"{operation:13s} {a['rate']:8.1f} {b['rate']:8.1f} {ratio:5.2f}  "
                    f"{a['mean_ms']:5.1f} / {a['p99_ms']:4.0f} {b['mean_ms']:5.1f} / {b['p99_ms']:4.0f} "
                    f"{a['errors']:>3d}/{b['errors']:<2d}")
            x, y = alone.get("mailgate", {}).get(operation), alone.get("dovecot", {}).get(operation)
            if x and y:
                line += f"  {x['rate']:15.1f} {y['rate']:8.1f} {x['rate'] / y['rate']:5.2f}"
                if x["errors"] or y["errors"]:
                    line += f" (errors {x['errors']}/{y['errors']})"
            print(line)
        total_mg = sum(op["rate"] for op in mg["operations"].values())
        total_dc = sum(op["rate"] for op in dc["operations"].values())
        print(f"{'all':13s} {total_mg:8.1f} {total_dc:8.1f} {total_mg / total_dc:5.2f}")
        print(f"mixed load: server CPU mailgate {mg['server_cpu']:.1f} s, dovecot {dc['server_cpu']:.1f} s; "
              f"clients CPU {mg['client_cpu']:.1f} s / {dc['client_cpu']:.1f} s; "
              f"mailgate RSS {mg['server_rss_kb'] / 1024:.0f} MB (peak {mg['server_peak_rss_kb'] / 1024:.0f} MB)")
    for server, runs in mixed_runs.items():
        for r in runs:
            if r["first_error"]:
                print(f"first {server} error ({r['role']}): {r['first_error']}")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "load":
        load(int(args[0]), int(args[1]), int(args[2]), int(args[3]))
    elif command == "dump":
        dump(int(args[0]), int(args[1]), args[2])
    elif command == "fetch":
        fetch(int(args[0]), int(args[1]), int(args[2]), "--digest" in args)
    elif command == "mixed":
        mixed(int(args[0]), int(args[1]), int(args[2]), int(args[3]), float(args[4]),
              args[5] if len(args) > 5 else None)
    elif command == "idle":
        idle(int(args[0]), int(args[1]), int(args[2]), int(args[3]), int(args[4]))
    elif command == "report":
        report([line.rstrip("\n") for line in sys.stdin if line.strip()])
    else:
        sys.exit(f"unknown command {command}")
