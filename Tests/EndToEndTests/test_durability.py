"""Nothing acknowledged is lost: kill -9 during a burst, then restart; and SIGTERM
shuts down gracefully with 421 to idle sessions and exit status 0."""
import signal
import smtplib
import socket
import threading
import time

from conftest import wait_for


def test_kill_9_during_burst_loses_no_acknowledged_message(server):
    acknowledged = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender(worker):
        index = 0
        while not stop.is_set():
            subject = f"w{worker}-{index}"
            try:
                with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=10) as client:
                    client.sendmail("a@remote.test", ["bob@example.test"], f"Subject: {subject}\r\n\r\nbody\r\n")
                with lock:
                    acknowledged.append(subject)
            except (OSError, smtplib.SMTPException):
                return
            index += 1

    threads = [threading.Thread(target=sender, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    # Kill once a good number of messages are acknowledged, with more in flight.
    wait_for(lambda: len(acknowledged) > 30, timeout=30, what="30 acknowledged messages")
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    stop.set()
    for thread in threads:
        thread.join(15)
    assert len(acknowledged) > 10
    server.start()
    stored = {row[4] for row in server.messages("bob@example.test")}
    missing = [subject for subject in acknowledged if subject not in stored]
    assert missing == []


def test_sigterm_is_graceful(server):
    idle = socket.create_connection(("127.0.0.1", server.smtp_port), timeout=10)
    assert idle.recv(512).startswith(b"220 ")
    code = server.stop(signal.SIGTERM)
    assert code == 0
    assert idle.recv(512).startswith(b"421 4.3.2")
    idle.close()
    assert "stopped" in server.log()
    # The data survives the restart.
    server.start()
    assert server.cli("user", "show", "bob@example.test").returncode == 0


def test_second_server_on_the_same_data_dir_is_refused(server):
    import subprocess
    from conftest import BIN
    result = subprocess.run([BIN, "--config", str(server.config), "serve"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "another mailgate server" in result.stderr
