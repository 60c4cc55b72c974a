"""The `deliver` step after DATA, where one answer covers every recipient: a recipient a
policy refuses for good gets a bounce while the others get the message; one it defers
makes the whole message wait (nothing stored, the client retries it all)."""
import email
import email.policy
import shutil
import smtplib
import time

import pytest

from conftest import ROOT, wait_for

PICKY = """
local picky = {}
function picky.deliver(tx, rcpt, info)
  if rcpt.local_part == "alice" and tx:header("Subject") == "refuse alice" then
    return mailgate.reject(550, "5.7.1", "Alice takes no mail about that")
  end
  if rcpt.local_part == "alice" and tx:header("Subject") == "later for alice" then
    return mailgate.defer(451, "4.7.1", "Alice is busy")
  end
  return mailgate.next
end
return picky
"""


def picky_server(make_server, tmp_path):
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    (policies / "picky.lua").write_text(PICKY)
    return make_server(f'[policy]\ndirectory = "{policies}"\nchain = ["relay", "picky"]\n')


def send(server, subject):
    message = f"From: postmaster@example.test\r\nSubject: {subject}\r\n\r\nHello.\r\n"
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.sendmail("postmaster@example.test", ["bob@example.test", "alice@example.test"], message.encode())


def test_a_recipient_refused_after_data_gets_a_bounce(make_server, tmp_path):
    server = picky_server(make_server, tmp_path)
    send(server, "refuse alice")
    assert len(server.messages("bob@example.test")) == 1
    assert server.messages("alice@example.test") == []
    wait_for(lambda: server.messages("postmaster@example.test"), what="the bounce")
    rows = server.messages("postmaster@example.test")
    assert len(rows) == 1
    bounce = email.message_from_string(server.message("postmaster@example.test", rows[0][0]), policy=email.policy.default)
    assert bounce.get_content_type() == "multipart/report"
    human = next(bounce.iter_parts()).get_content()
    assert "alice@example.test" in human and "Alice takes no mail about that" in human
    assert "bob@example.test" not in human


def test_a_recipient_deferred_after_data_defers_the_whole_message(make_server, tmp_path):
    server = picky_server(make_server, tmp_path)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(server, "later for alice")
    assert refused.value.smtp_code == 451 and b"Alice is busy" in refused.value.smtp_error
    # Nothing was stored for anyone: the client's retry delivers to both, once.
    assert server.messages("bob@example.test") == []
    assert server.messages("alice@example.test") == []
