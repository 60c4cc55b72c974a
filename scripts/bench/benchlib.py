# Helpers shared by the Python drivers of scripts/bench (pop3-driver.py, imap-driver.py):
# account names, generated messages, SMTP loading, CPU accounting of a server's process
# tree, and a timed round of client processes released together.
import multiprocessing
import os
import smtplib
import sys
import time

DOMAIN = "example.test"
PASSWORD = "secret"
TICKS = os.sysconf("SC_CLK_TCK")


def user(index):
    return f"user{index:02d}@{DOMAIN}"


def message(mailbox, number, size):
    """A plain-text message of about `size` bytes with CRLF lines; a few body lines
    start with "." so POP3 servers byte-stuff."""
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
    """Delivers per_mailbox messages to each of user01..userNN over SMTP (4 processes)."""
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


def rss_kb(pid, key="VmRSS"):
    """VmRSS (or VmHWM, the peak) of one process in kB."""
    with open(f"/proc/{pid}/status") as file:
        for line in file:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def timed_round(target, argument_lists, server_pid, ready=False, timeout=600):
    """Starts one process per argument tuple running target(*args, start, results),
    waits until all are ready, releases them together and collects one result each
    (each process must put exactly one item on `results`). With ready=True the target
    is called as target(*args, ready, start, results) and must put one item on `ready`
    once set up (logged in, say): the clock starts when all have. Returns (results,
    seconds, client CPU seconds, server CPU seconds of its process tree)."""
    start = multiprocessing.Event()
    results = multiprocessing.Queue()
    ready_queue = multiprocessing.Queue() if ready else None
    extra = (ready_queue, start, results) if ready else (start, results)
    clients = [multiprocessing.Process(target=target, args=(*args, *extra)) for args in argument_lists]
    for client in clients:
        client.start()
    if ready:
        for _ in clients:
            ready_queue.get(timeout=timeout)
    time.sleep(0.5)  # every client imported and waiting on `start`
    server_before = tree_ticks(server_pid)
    clients_before = os.times()
    began = time.perf_counter()
    start.set()
    rows = [results.get(timeout=timeout) for _ in clients]
    elapsed = time.perf_counter() - began
    for client in clients:
        client.join()
        if client.exitcode != 0:
            sys.exit(f"a client failed (exit {client.exitcode})")
    clients_after = os.times()
    server_cpu = (tree_ticks(server_pid) - server_before) / TICKS
    client_cpu = (clients_after.children_user + clients_after.children_system
                  - clients_before.children_user - clients_before.children_system)
    return rows, elapsed, client_cpu, server_cpu
