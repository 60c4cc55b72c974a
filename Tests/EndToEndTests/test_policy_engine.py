"""The policy engine seen from outside (issue 12): hooks that look things up in DNS
through the server's resolver (dnsmasq as the nameserver) without holding a VM,
`on_error`, shadow policies in the log and in `mailgate status`, and `require`."""
import shutil
import smtplib
import socket
import threading
import time

from conftest import ROOT, wait_for
from outbound_support import DNSServer


def copy_policies(tmp_path):
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


LOOKUP = '''
local p = {}
function p.rcpt(tx, rcpt)
  if rcpt.local_part ~= "probe" then return mailgate.next end
  local name = mailgate.dns.reverse(tx.session.client_ip, "bl.test")
  local records, err = mailgate.dns.a(name)
  if records then return mailgate.reject(554, "5.7.1", "listed " .. table.concat(records, ",")) end
  local txt, terr = mailgate.dns.txt("info.test")
  return mailgate.reject(550, "5.7.1", "err " .. err .. " txt " .. (txt and txt[1] or terr))
end
return p
'''


def silent_nameserver():
    """A UDP port that takes questions and never answers (a nameserver that is down
    without saying so): lookups time out."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


def rcpt(server, address, port=None):
    with smtplib.SMTP("127.0.0.1", port or server.smtp_port, timeout=30) as client:
        client.ehlo()
        client.mail("sender@remote.test")
        return client.rcpt(address)


def test_a_policy_looks_up_dns_through_the_servers_resolver(make_server, tmp_path):
    dns = DNSServer(["--address=/1.0.0.127.bl.test/127.0.0.2", "--txt-record=info.test,hello world"])
    try:
        policies = copy_policies(tmp_path)
        (policies / "lookup.lua").write_text(LOOKUP)
        server = make_server(f'[delivery]\nnameserver = "127.0.0.1:{dns.port}"\n'
                             f'[policy]\ndirectory = "{policies}"\nchain = ["lookup", "relay"]\n',
                             policy_dir=policies)
        assert rcpt(server, "probe@example.test") == (554, b"5.7.1 listed 127.0.0.2")
        # Other recipients never reach the lookup.
        assert rcpt(server, "bob@example.test")[0] == 250
    finally:
        dns.stop()


def test_a_lookup_that_fails_is_an_error_value_and_on_error_decides(make_server, tmp_path):
    # A nameserver that never answers: the lookup times out (an error value); the
    # policy raises it, and on_error = "next" lets the mail through.
    silent, port = silent_nameserver()
    policies = copy_policies(tmp_path)
    (policies / "strict.lua").write_text('''
local p = {}
function p.rcpt(tx, rcpt)
  local records, err = mailgate.dns.a("anything.test")
  if not records then error("lookup failed: " .. err) end
  return mailgate.next
end
return p
''')
    server = make_server(f'[delivery]\nnameserver = "127.0.0.1:{port}"\n'
                         f'[limits]\npolicy_dns_timeout = "300ms"\n'
                         f'[policy]\ndirectory = "{policies}"\nchain = ["strict", "relay"]\n'
                         f'[policy.strict]\non_error = "next"\n',
                         policy_dir=policies)
    code, text = rcpt(server, "bob@example.test")
    assert code == 250, text
    wait_for(lambda: 'on_error = "next": carrying on with the chain' in server.log(), what="the on_error log line")
    assert "lookup failed: timeout" in server.log()
    # The default, "defer", answers 451.
    server.write_config(server.extra_config.replace('on_error = "next"', 'on_error = "defer"'))
    server.cli("reload")
    assert rcpt(server, "bob@example.test") == (451, b"4.3.0 Temporary policy failure, please try again later")
    silent.close()


def test_waiting_sessions_do_not_block_others(make_server, tmp_path):
    # One VM; sessions whose rcpt hook waits on a nameserver that never answers do not
    # stop another session's hooks from running at once.
    silent, port = silent_nameserver()
    policies = copy_policies(tmp_path)
    (policies / "slow.lua").write_text('''
local p = {}
function p.rcpt(tx, rcpt)
  if rcpt.local_part == "slow" then mailgate.dns.a("never.test") end
  return mailgate.next
end
return p
''')
    server = make_server(f'[delivery]\nnameserver = "127.0.0.1:{port}"\n'
                         f'[limits]\npolicy_vms = 1\npolicy_dns_timeout = "3s"\n'
                         f'[policy]\ndirectory = "{policies}"\nchain = ["slow", "relay"]\n',
                         policy_dir=policies)
    results = []
    waiting = [threading.Thread(target=lambda: results.append(rcpt(server, "slow@example.test"))) for _ in range(4)]
    for thread in waiting:
        thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert rcpt(server, "bob@example.test")[0] == 250
    fast = time.monotonic() - started
    for thread in waiting:
        thread.join()
    assert len(results) == 4
    silent.close()
    assert fast < 2.5, f"a session waited {fast:.1f}s behind lookups of others"


def test_shadow_disagreements_are_logged_and_counted(make_server, tmp_path):
    policies = copy_policies(tmp_path)
    (policies / "trial.lua").write_text('''
local p = {}
function p.rcpt(tx, rcpt)
  if rcpt.local_part == "bob" then return mailgate.reject(550, "5.7.1", "trial refuses bob") end
  return mailgate.next
end
return p
''')
    server = make_server(f'[policy]\ndirectory = "{policies}"\n'
                         f'chain = ["ratelimit", "badmailfrom", "relay", "open_smtp", "limits"]\n'
                         f'shadow = ["trial"]\n', policy_dir=policies)
    assert rcpt(server, "bob@example.test")[0] == 250  # the live chain decides
    assert rcpt(server, "alice@example.test")[0] == 250
    wait_for(lambda: "shadow disagreement" in server.log(), what="the shadow log line")
    line = next(l for l in server.log().splitlines() if "shadow disagreement" in l)
    assert "hook=rcpt" in line and "live=next" in line and 'shadow="reject 550 5.7.1"' in line
    assert "shadow_policy=trial" in line and "queue_id=" in line
    assert sum("shadow disagreement" in l for l in server.log().splitlines()) == 1
    wait_for(lambda: "disagreements: trial 1" in server.cli("status").stdout, timeout=15,
             what="the disagreement count in mailgate status")
    assert bob_has_mail(server)


def bob_has_mail(server):
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        client.sendmail("sender@remote.test", ["bob@example.test"], b"Subject: s\r\n\r\nbody\r\n")
    return len(server.messages("bob@example.test")) == 1


def test_reserved_policy_names_and_bad_on_error_are_refused(make_server, tmp_path):
    policies = copy_policies(tmp_path)
    server = make_server(f'[policy]\ndirectory = "{policies}"\nchain = ["relay"]\n'
                         f'[policy.relay]\non_error = "maybe"\n', policy_dir=policies, start=False)
    result = server.cli("policy", "check", check=False)
    assert result.returncode != 0
    assert 'on_error must be "defer"' in result.stderr + result.stdout


def test_require_shares_helpers_from_plugins_lib(make_server, tmp_path):
    policies = copy_policies(tmp_path)
    plugins = tmp_path / "plugins"
    (plugins / "lib").mkdir(parents=True)
    (plugins / "lib" / "words.lua").write_text('local M = {}\nfunction M.word() return "from-lib" end\nreturn M\n')
    (policies / "user.lua").write_text('''
local words = require("words")
local p = {}
function p.helo(session, name)
  if name == "ask.test" then return mailgate.reject(550, "5.7.1", words.word() .. " v" .. mailgate.api_version) end
  return mailgate.next
end
return p
''')
    server = make_server(f'[policy]\ndirectory = "{policies}"\nplugin_directory = "{plugins}"\n'
                         f'chain = ["user", "relay"]\n', policy_dir=policies)
    with smtplib.SMTP("127.0.0.1", server.smtp_port, timeout=30) as client:
        assert client.ehlo("ask.test") == (550, b"5.7.1 from-lib v2")
