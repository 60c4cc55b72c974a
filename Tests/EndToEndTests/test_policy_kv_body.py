"""mailgate.kv, tx results and tx:parts() in the real server: a policy counts each
sender's transactions in the kv store (shared by every session and kept across a
restart), hands the count from mail_from to data through tx:set_result, and its data
hook refuses a message whose MIME walk finds an .exe attachment."""
import shutil
import smtplib
from email.message import EmailMessage

import pytest

from conftest import ROOT

MEMO = """
local memo = {}
function memo.mail_from(tx, sender)
  local count = mailgate.kv.incr("memo:" .. (sender and sender.address or "<>"), 1, "1h")
  tx:set_result("memo_count", count)
  return mailgate.next
end
function memo.data(tx)
  local parts = tx:parts()
  for _, part in ipairs(parts) do
    if part.filename and part.filename:lower():match("%.exe$") then
      return mailgate.reject(554, "5.7.1", "attachment " .. part.filename .. " refused")
    end
  end
  tx:add_header("X-Memo-Count", tostring(tx:result("memo_count")))
  tx:add_header("X-Memo-Parts", tostring(#parts) .. " " .. tostring(#tx:body()))
  return mailgate.next
end
return memo
"""


def memo_server(make_server, tmp_path):
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    (policies / "memo.lua").write_text(MEMO)
    return make_server(f'[policy]\ndirectory = "{policies}"\nchain = ["relay", "memo"]\n')


def plain(subject):
    return f"From: carol@remote.test\r\nTo: bob@example.test\r\nSubject: {subject}\r\n\r\nHello.\r\n"


def send(server, message):
    """One message in its own SMTP session."""
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.sendmail("carol@remote.test", ["bob@example.test"], message if isinstance(message, bytes) else message.encode())


def stored_header(server, uid, name):
    for line in server.message("bob@example.test", uid).split("\r\n"):
        if line.lower().startswith(name.lower() + ":"):
            return line.split(":", 1)[1].strip()
    return None


def test_kv_counts_across_sessions_and_restarts_and_parts_refuse_an_exe(make_server, tmp_path):
    server = memo_server(make_server, tmp_path)
    send(server, plain("first"))
    send(server, plain("second"))
    uids = [row[0] for row in server.messages("bob@example.test")]
    assert len(uids) == 2
    assert stored_header(server, uids[0], "X-Memo-Count") == "1"
    assert stored_header(server, uids[1], "X-Memo-Count") == "2"
    # A single-part message is one leaf; its body is "Hello.\r\n".
    assert stored_header(server, uids[1], "X-Memo-Parts") == "1 8"

    attached = EmailMessage()
    attached["From"] = "carol@remote.test"
    attached["To"] = "bob@example.test"
    attached["Subject"] = "invoice"
    attached.set_content("Please see the invoice.\n")
    attached.add_attachment(b"MZ\x90\x00" * 64, maintype="application", subtype="octet-stream",
                            filename="Invoice.EXE")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(server, attached.as_bytes().replace(b"\n", b"\r\n"))
    assert refused.value.smtp_code == 554
    assert b"attachment Invoice.EXE refused" in refused.value.smtp_error
    assert len(server.messages("bob@example.test")) == 2

    # The same message without the attachment passes; the count went on (3 was the refused one).
    attached.clear_content()
    attached.set_content("No attachment after all.\n")
    send(server, attached.as_bytes().replace(b"\n", b"\r\n"))
    uids = [row[0] for row in server.messages("bob@example.test")]
    assert stored_header(server, uids[2], "X-Memo-Count") == "4"

    # The kv table is in the store: a restart keeps counting.
    server.stop()
    server.start()
    send(server, plain("after restart"))
    uids = [row[0] for row in server.messages("bob@example.test")]
    assert stored_header(server, uids[3], "X-Memo-Count") == "5"
