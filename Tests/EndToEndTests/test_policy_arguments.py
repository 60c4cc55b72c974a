"""What a policy sees of a transaction, through the real server and smtplib: the
fields built on first read (session, mail_from, recipients, headers) carry the
transaction's values, pairs() lists them, and a `tx` kept past its hook call cannot
read a field it never read during that call (a policy failure: 451, nothing lost)."""
import shutil
import smtplib

import pytest

from conftest import ROOT

INSPECT = """
local inspect = {}
local kept
function inspect.mail_from(tx, sender)
  kept = tx
  local _ = tx.session   -- read during its call: stays readable later
  return mailgate.next
end
function inspect.rcpt(tx, rcpt)
  if tx.mail_from.local_part == "late" then
    local text = kept.session.client_ip .. " " .. #kept.headers   -- headers never read: error
    return mailgate.accept
  end
  return mailgate.next
end
function inspect.data(tx)
  local keys = {}
  for key in pairs(tx) do keys[#keys + 1] = key end
  table.sort(keys)
  return mailgate.reject(550, "5.7.1", table.concat({
    tx.session.client_ip, tx.session.helo, tx.mail_from.address, #tx.recipients,
    tx.recipients[2].address, tx:header("Subject"), table.concat(keys, ",") }, "|"))
end
return inspect
"""


@pytest.fixture
def server(make_server, tmp_path):
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    (policies / "inspect.lua").write_text(INSPECT)
    return make_server(f'[policy]\ndirectory = "{policies}"\nchain = ["relay", "inspect"]\n')


def test_a_policy_reads_every_transaction_field(server):
    message = "From: postmaster@example.test\r\nSubject: Field check\r\n\r\nHello.\r\n"
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.ehlo("client.example")
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("Sender@Example.TEST", ["bob@example.test", "postmaster@example.test"], message.encode())
    assert refused.value.smtp_code == 550
    assert refused.value.smtp_error.decode() == (
        "5.7.1 127.0.0.1|client.example|Sender@example.test|2|postmaster@example.test|Field check|"
        "headers,mail_from,queue_id,recipients,session,size")
    assert server.messages("bob@example.test") == []


def test_a_kept_transaction_cannot_load_a_field_later(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.ehlo("client.example")
        assert client.mail("late@remote.test")[0] == 250
        code, text = client.rcpt("bob@example.test")
        assert (code, text) == (451, b"4.3.0 Temporary policy failure, please try again later")
        # The session goes on: the next transaction is decided normally.
        client.rset()
        assert client.mail("postmaster@example.test")[0] == 250
        assert client.rcpt("bob@example.test")[0] == 250
    assert "tx.headers can only be read during the hook call" in server.log()
