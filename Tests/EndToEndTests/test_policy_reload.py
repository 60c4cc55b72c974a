"""Hot reload and policy failures seen from outside: `mailgate reload`, SIGHUP, a
broken reload that keeps the old chain, and a looping policy that only costs 451."""
import shutil
import signal
import smtplib
import threading
import time

from conftest import ROOT, wait_for


def copy_policies(tmp_path):
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


def mail_from_code(server, sender):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.ehlo()
        return client.docmd(f"MAIL FROM:<{sender}>")


def test_reload_rereads_badmailfrom(make_server, tmp_path):
    policies = copy_policies(tmp_path)
    server = make_server(policy_dir=policies)
    assert mail_from_code(server, "spam@bad.test")[0] == 250
    (policies / "badmailfrom").write_text("# test list\n@bad.test\nSomeone@Else.test\n")
    out = server.cli("reload").stdout
    assert "reloaded" in out
    assert mail_from_code(server, "spam@bad.test") == (554, b"5.7.1 sorry, your envelope sender is in my badmailfrom list (#5.7.1)")
    assert mail_from_code(server, "someone@else.test")[0] == 554
    assert mail_from_code(server, "fine@good.test")[0] == 250


def test_sighup_reloads_a_changed_policy(make_server, tmp_path):
    policies = copy_policies(tmp_path)
    (policies / "greeter.lua").write_text(
        'local p = {}\nfunction p.helo(session, name)\n  return mailgate.next\nend\nreturn p\n')
    server = make_server(f'[policy]\ndirectory = "{policies}"\nchain = ["greeter", "relay"]', policy_dir=policies)
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        assert client.ehlo("evil.test")[0] == 250
    (policies / "greeter.lua").write_text(
        'local p = {}\nfunction p.helo(session, name)\n'
        '  if name == "evil.test" then return mailgate.reject(550, "5.7.1", "go away " .. session.client_ip) end\n'
        '  return mailgate.next\nend\nreturn p\n')
    before = server.cli("status").stdout
    server.process.send_signal(signal.SIGHUP)
    wait_for(lambda: server.cli("status").stdout != before, what="the reload to show in status")
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        assert client.ehlo("evil.test") == (550, b"5.7.1 go away 127.0.0.1")
        assert client.ehlo("good.test")[0] == 250


def test_failed_reload_keeps_the_old_chain(make_server, tmp_path):
    policies = copy_policies(tmp_path)
    server = make_server(policy_dir=policies)
    relay = policies / "relay.lua"
    relay.write_text(relay.read_text() + "\nthis is not lua\n")
    result = server.cli("reload", check=False)
    assert result.returncode != 0
    assert "relay.lua:" in result.stderr
    status = server.cli("status").stdout
    assert "FAILED" in status and "relay.lua:" in status
    # The old chain still decides: relay refused, local delivery works.
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.ehlo()
        client.mail("a@remote.test")
        assert client.rcpt("x@elsewhere.test")[0] == 553
        assert client.rcpt("bob@example.test")[0] == 250
    check = server.cli("policy", "check", check=False)
    assert check.returncode != 0 and "relay.lua:" in check.stderr


def test_looping_policy_gets_451_while_others_are_served(make_server, tmp_path):
    policies = copy_policies(tmp_path)
    (policies / "loop.lua").write_text(
        "local p = {}\n"
        "function p.mail_from(tx, sender)\n"
        "  if sender and sender.domain == 'loop.test' then\n"
        "    while true do end\n"
        "  end\n"
        "  return mailgate.next\n"
        "end\n"
        "return p\n")
    server = make_server(f'[policy]\ndirectory = "{policies}"\nchain = ["loop", "relay"]', policy_dir=policies)
    results = {}

    def looping():
        results["loop"] = mail_from_code(server, "x@loop.test")

    thread = threading.Thread(target=looping)
    thread.start()
    for index in range(5):
        with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
            client.sendmail("a@remote.test", ["bob@example.test"], f"Subject: n{index}\r\n\r\nbody\r\n")
    thread.join(30)
    assert results["loop"] == (451, b"4.3.0 Temporary policy failure, please try again later")
    assert len(server.messages("bob@example.test")) == 5
    assert "loop.lua:" in server.log()
    # The server is still fine for the looping sender's next, harmless attempt.
    assert mail_from_code(server, "x@fine.test")[0] == 250
