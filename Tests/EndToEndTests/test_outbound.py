"""Outbound delivery end to end: relayed mail leaves through the queue runner to
destination MTAs on loopback (aiosmtpd), found through dnsmasq; retries, bounces (RFC 3464
DSNs read with Python's email package), null MX, restarts."""
import signal
import time

from outbound_support import (outbound, parse_dsn, queue_ids, submit, wait_for)  # noqa: F401

SENDER = "bob@example.test"


def bounces(server, address=SENDER):
    return [server.message(address, row[0]) for row in server.messages(address)]


def test_delivers_in_clear_and_with_starttls(outbound):
    server = outbound.server()
    submit(server, SENDER, ["carol@plain.test"], subject="clear")
    submit(server, SENDER, ["dave@tls.test", "erin@tls.test"], subject="secret")
    wait_for(lambda: outbound.plain.count() == 1 and outbound.tls.count() == 1, what="both deliveries")
    clear, secret = outbound.plain.messages[0], outbound.tls.messages[0]
    assert clear["tls"] is False and clear["recipients"] == ["carol@plain.test"]
    assert clear["sender"] == SENDER
    assert secret["tls"] is True and sorted(secret["recipients"]) == ["dave@tls.test", "erin@tls.test"]
    data = clear["data"].decode()
    assert "Subject: clear" in data and "Return-Path" not in data.split("\r\n\r\n")[0]
    wait_for(lambda: queue_ids(server) == [], what="an empty queue")
    assert "delivered" in server.log()
    assert bounces(server) == []


def test_failed_tls_handshake_is_retried_in_clear(outbound):
    broken = outbound.receiver("mx-badtls.test", mode="broken-tls", tls=(str(outbound.cert), str(outbound.key)))
    server = outbound.server()
    submit(server, SENDER, ["zoe@badtls.test"], subject="opportunistic")
    wait_for(lambda: broken.count() == 1, what="the delivery in clear")
    assert broken.messages[0]["tls"] is False
    wait_for(lambda: queue_ids(server) == [], what="an empty queue")
    assert "TLS not available: connect failed:" in server.log()


def test_second_mx_and_implicit_mx(outbound):
    server = outbound.server()
    submit(server, SENDER, ["frank@backup.test"], subject="backup")
    submit(server, SENDER, ["gina@implicit.test"], subject="implicit")
    wait_for(lambda: outbound.plain.count() == 2, what="deliveries through the backup MX and the A record")
    assert sorted(m["recipients"][0] for m in outbound.plain.messages) == ["frank@backup.test", "gina@implicit.test"]
    wait_for(lambda: queue_ids(server) == [], what="an empty queue")


def test_temporary_failure_is_retried_until_accepted(outbound):
    server = outbound.server()
    submit(server, SENDER, ["henry@flaky.test"])
    ids = wait_for(lambda: queue_ids(server), what="a queued entry")
    # The first attempt gets 451: deferred with the text kept for `queue show`.
    shown = wait_for(lambda: (out := server.cli("queue", "show", ids[0], check=False).stdout) and "deferred" in out and out,
                     timeout=20, what="a deferred recipient")
    assert "451" in shown and "Mailbox busy" in shown
    wait_for(lambda: outbound.flaky.count() == 1, timeout=30, what="the delivery after two refusals")
    assert outbound.flaky.failures == 2
    wait_for(lambda: queue_ids(server) == [], what="an empty queue")
    assert bounces(server) == []


def test_down_destination_is_retried_until_it_comes_back(outbound):
    server = outbound.server()
    submit(server, SENDER, ["ivan@down.test"])
    ids = wait_for(lambda: queue_ids(server), what="a queued entry")
    wait_for(lambda: "attempts=2" in server.cli("queue", "show", ids[0]).stdout, timeout=20, what="two attempts")
    shown = server.cli("queue", "show", ids[0]).stdout
    assert "wasn't able to establish an SMTP connection" in shown and "#4.4.1" in shown
    down = outbound.receiver("mx-down.test")
    wait_for(lambda: down.count() == 1, timeout=30, what="delivery once the host is up")
    wait_for(lambda: queue_ids(server) == [], what="an empty queue")
    assert bounces(server) == []


def test_lifetime_expiry_bounces_with_the_4_4_1_text(outbound):
    server = outbound.server(lifetime="4s")
    submit(server, SENDER, ["judy@down.test"], subject="never arrives")
    raw = wait_for(lambda: bounces(server), timeout=30, what="the bounce")[0]
    assert "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)" in raw
    assert "I'm not going to try again; this message has been in the queue too long." in raw
    message, human, recipients, parts = parse_dsn(raw)
    assert message["To"] == SENDER
    assert "judy@down.test" in human
    fields = recipients[0]
    assert fields["Action"] == "failed"
    assert fields["Status"].startswith("4.4.1")
    assert "judy@down.test" in fields["Final-Recipient"]
    assert "Subject: never arrives" in str(parts[2])
    wait_for(lambda: queue_ids(server) == [], what="an empty queue")


def test_permanent_failure_bounces_at_once_with_the_transcript(outbound):
    server = outbound.server()
    submit(server, SENDER, ["kim@reject.test", "lee@plain.test"], subject="half")
    raw = wait_for(lambda: bounces(server), timeout=20, what="the bounce")[0]
    wait_for(lambda: outbound.plain.count() == 1, what="the other recipient's delivery")
    message, human, recipients, _ = parse_dsn(raw)
    flat = " ".join(human.split())
    assert ">>> RCPT To:<kim@reject.test>" in flat
    assert "<<< 550 5.1.1 MAILBOX NOT FOUND" in flat
    assert "mx-reject.test" in flat
    assert "lee@plain.test" not in flat
    assert len(recipients) == 1 and recipients[0]["Action"] == "failed"
    assert recipients[0]["Status"].startswith("5.1.1")
    assert "550" in recipients[0]["Diagnostic-Code"]
    wait_for(lambda: queue_ids(server) == [], what="an empty queue")


def test_null_mx_and_unknown_domain_bounce_at_once(outbound):
    server = outbound.server()
    submit(server, SENDER, ["mia@nullmx.test"], subject="null mx")
    submit(server, SENDER, ["ned@nosuch.test"], subject="no such domain")
    raws = wait_for(lambda: (found := bounces(server)) and len(found) == 2 and found, timeout=20, what="two bounces")
    text = " ".join(" ".join(raws).split())
    assert "nullmx.test" in text and "5.1.10" in text
    assert "Sorry, I couldn't find any host named nosuch.test. (#5.1.2)" in text
    for raw in raws:
        parse_dsn(raw)
    wait_for(lambda: queue_ids(server) == [], what="an empty queue")


def test_no_bounce_loops(outbound):
    server = outbound.server()
    # A bounce (null sender) that fails goes to the postmaster as a double bounce...
    submit(server, "", ["olga@reject.test"], subject="bounce that fails")
    # ...and a failure whose sender is unreachable ends the same way: never a loop.
    submit(server, "someone@reject.test", ["pat@reject.test"], subject="bounce to a rejecting sender")
    wait_for(lambda: len(server.messages("postmaster@example.test")) == 2, timeout=30, what="two double bounces")
    wait_for(lambda: queue_ids(server) == [], what="an empty queue")
    time.sleep(3)
    assert len(server.messages("postmaster@example.test")) == 2
    assert queue_ids(server) == []
    # RCPTs seen by the rejecting host: olga, pat, then the bounce to someone@ — nothing more.
    assert sorted(outbound.reject.rcpts) == ["olga@reject.test", "pat@reject.test", "someone@reject.test"]
    for raw in bounces(server, "postmaster@example.test"):
        message, human, recipients, _ = parse_dsn(raw)
        assert message["From"].startswith("MAILER-DAEMON@")
        assert recipients[0]["Action"] == "failed"


def test_restart_mid_queue_delivers_after_restart(outbound):
    server = outbound.server()
    submit(server, SENDER, ["quinn@down.test"], subject="survives restarts")
    submit(server, SENDER, ["rose@down.test"], subject="survives kill -9")
    wait_for(lambda: len(queue_ids(server)) == 2, what="two queued entries")
    assert server.stop(signal.SIGTERM) == 0
    server.start()
    wait_for(lambda: "attempts=" in server.cli("queue", "list").stdout or True, what="restart")
    server.stop(signal.SIGKILL)
    assert len(queue_ids(server)) == 2
    down = outbound.receiver("mx-down.test")
    server.start()
    wait_for(lambda: down.count() == 2, timeout=30, what="both deliveries after the restarts")
    wait_for(lambda: queue_ids(server) == [], what="an empty queue")


def route(domain, host, port, tls, ca_file=None):
    text = f'[routes."{domain}"]\nhost = "{host}:{port}"\ntls = "{tls}"\n'
    return text + (f'ca_file = "{ca_file}"\n' if ca_file else "")


def test_required_tls_route_verifies_the_certificate(outbound):
    port = outbound.port
    server = outbound.server(extra=route("secure.test", "mx-tls.test", port, "required", outbound.cert)
                             + route("strict.test", "mx-tls.test", port, "required")
                             + route("cleartext.test", "mx-plain.test", port, "required"))
    submit(server, SENDER, ["vera@secure.test"], subject="verified")
    submit(server, SENDER, ["walt@strict.test"], subject="unverifiable")
    submit(server, SENDER, ["xena@cleartext.test"], subject="no starttls")
    wait_for(lambda: outbound.tls.count() == 1, what="delivery over verified TLS")
    assert outbound.tls.messages[0]["tls"] is True
    assert outbound.tls.messages[0]["recipients"] == ["vera@secure.test"]
    wait_for(lambda: len(queue_ids(server)) == 2
             and server.cli("queue", "list", "--status", "deferred").stdout.count("\n") == 2, what="two deferred entries")
    listing = server.cli("queue", "list").stdout
    strict = next(line.split("\t")[0] for line in listing.splitlines() if "strict.test" in line)
    cleartext = next(line.split("\t")[0] for line in listing.splitlines() if "cleartext.test" in line)
    assert "TLS not available: connect failed:" in server.cli("queue", "show", strict).stdout
    assert "TLS not available: connect failed:" in server.log()
    assert "STARTTLS" in server.cli("queue", "show", cleartext).stdout
    # Never sent in clear, never to the wrong host.
    assert outbound.tls.count() == 1 and outbound.plain.count() == 0


def test_success_notice_when_the_next_hop_has_no_dsn(outbound):
    server = outbound.server()
    submit(server, SENDER, ["yan@plain.test"], subject="tell me", rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
    raw = wait_for(lambda: bounces(server), timeout=20, what="the relayed notice")[0]
    _, human, recipients, _ = parse_dsn(raw)
    assert recipients[0]["Action"] == "relayed"
    assert outbound.plain.count() == 1


def test_several_messages_share_one_connection(outbound):
    server = outbound.server(intervals='["1h"]')
    for n in range(5):
        submit(server, SENDER, [f"user{n}@down.test"], subject=f"batch {n}")
    wait_for(lambda: server.cli("queue", "list", "--status", "deferred").stdout.count("\n") == 5,
             what="five deferred entries")
    down = outbound.receiver("mx-down.test")
    server.cli("queue", "retry", "--domain", "down.test")
    wait_for(lambda: down.count() == 5, timeout=20, what="five deliveries")
    assert len({m["connection"] for m in down.messages}) == 1
    wait_for(lambda: queue_ids(server) == [], what="an empty queue")


def test_queue_cli_while_the_server_runs(outbound):
    server = outbound.server(intervals='["1h"]')
    submit(server, SENDER, ["sam@down.test"], subject="held one")
    submit(server, SENDER, ["tom@down.test", "uma@plain.test"], subject="mixed")
    submit(server, SENDER, ["vic@down.test"], subject="deleted one")
    wait_for(lambda: server.cli("queue", "list", "--status", "deferred").stdout.count("\n") == 3,
             what="three deferred entries")
    listing = server.cli("queue", "list").stdout
    ids = {line.split("\t")[4].split("(")[0].split("@")[0]: line.split("\t")[0]
           for line in listing.splitlines()}
    assert set(ids) == {"sam", "tom", "vic"}
    assert server.cli("queue", "list", "--domain", "plain.test").stdout.count("\n") == 1
    assert "queue is empty" in server.cli("queue", "list", "--older-than", "1h").stdout
    assert "queue is empty" in server.cli("queue", "list", "--status", "held").stdout
    stats = server.cli("queue", "stats").stdout
    assert "entries: 3" in stats
    assert any(line.startswith("down.test\t3\t0\t3\t0\t") for line in stats.splitlines()), stats
    shown = server.cli("queue", "show", ids["tom"]).stdout
    assert "tom@down.test deferred attempts=1" in shown and "uma@plain.test delivered" in shown
    assert "next=" in shown and "#4.4.1" in shown

    assert "1 entry held" in server.cli("queue", "hold", ids["sam"]).stdout
    assert "held" in server.cli("queue", "list", "--status", "held").stdout
    assert "1 entry deleted" in server.cli("queue", "delete", ids["vic"]).stdout
    assert server.cli("queue", "show", ids["vic"], check=False).returncode == 1
    assert server.cli("queue", "retry", check=False).returncode != 0

    down = outbound.receiver("mx-down.test")
    assert "2 entries scheduled" in server.cli("queue", "retry", "--all").stdout
    wait_for(lambda: down.count() == 1, timeout=15, what="the unheld entry's delivery")
    time.sleep(2)
    assert [m["recipients"] for m in down.messages] == [["tom@down.test"]]
    assert queue_ids(server) == [ids["sam"]]

    assert "1 entry released" in server.cli("queue", "release", "--all").stdout
    server.cli("queue", "retry", ids["sam"])
    wait_for(lambda: down.count() == 2, timeout=15, what="the released entry's delivery")
    wait_for(lambda: queue_ids(server) == [], what="an empty queue")
    assert "entries: 0" in server.cli("queue", "stats").stdout
    assert sorted(r for m in down.messages for r in m["recipients"]) == ["sam@down.test", "tom@down.test"]


QUEUE_POLICY = """
local q = {}
function q.delivered(event, rcpt)
  mailgate.log.info("EVENT delivered " .. rcpt.address .. " " .. event.status .. " " .. tostring(event.host))
  return mailgate.next
end
function q.deferred(event, rcpt)
  mailgate.log.info("EVENT deferred " .. rcpt.address .. " " .. event.status .. " attempts=" .. event.attempts)
  return mailgate.next
end
function q.bounce(notice)
  local failed = notice.recipients[1].recipient
  if failed.local_part == "quiet" then return mailgate.discard() end
  if failed.local_part == "elsewhere" then return mailgate.redirect("alice@example.test") end
  return mailgate.next
end
return q
"""


def test_queue_policy_hooks(outbound, tmp_path):
    import shutil
    from conftest import ROOT
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    (policies / "queuelog.lua").write_text(QUEUE_POLICY)
    server = outbound.server(extra=f'[policy]\ndirectory = "{policies}"\nchain = ["relay", "queuelog"]\n')
    submit(server, SENDER, ["abe@plain.test"], subject="logged")
    submit(server, SENDER, ["ben@flaky.test"], subject="deferred twice")
    submit(server, SENDER, ["quiet@reject.test"], subject="no bounce")
    submit(server, SENDER, ["elsewhere@reject.test"], subject="bounce elsewhere")
    wait_for(lambda: queue_ids(server) == [], timeout=30, what="an empty queue")
    wait_for(lambda: len(server.messages("alice@example.test")) == 1, what="the redirected bounce")
    log = server.log()
    assert "EVENT delivered abe@plain.test 2.0.0 mx-plain.test" in log
    assert "EVENT deferred ben@flaky.test 4.3.0 attempts=1" in log
    assert "EVENT deferred ben@flaky.test 4.3.0 attempts=2" in log
    assert "EVENT delivered ben@flaky.test" in log
    assert "notice suppressed by the bounce policy" in log
    assert bounces(server) == []
    _, human, _, _ = parse_dsn(bounces(server, "alice@example.test")[0])
    assert "elsewhere@reject.test" in human


def test_sigterm_lets_a_delivery_in_flight_finish(outbound):
    slow = outbound.receiver("mx-down.test", data_delay=2)
    server = outbound.server()
    submit(server, SENDER, ["slow@down.test"], subject="in flight")
    wait_for(lambda: slow.started == 1, what="the slow delivery to start")
    assert server.stop(signal.SIGTERM) == 0
    assert slow.count() == 1
    # The result was recorded before the server exited: nothing left to send again.
    assert queue_ids(server) == []


def test_kill_9_during_a_delivery_sends_it_again_after_restart(outbound):
    slow = outbound.receiver("mx-down.test", data_delay=2)
    server = outbound.server()
    submit(server, SENDER, ["again@down.test"], subject="killed in flight")
    wait_for(lambda: slow.started == 1, what="the slow delivery to start")
    server.stop(signal.SIGKILL)
    assert len(queue_ids(server)) == 1
    slow.data_delay = 0
    server.start()
    wait_for(lambda: queue_ids(server) == [], timeout=30, what="the delivery after the restart")
    # At least once (the killed attempt may also have completed on the receiver's side).
    assert 1 <= slow.count() <= 2
    assert all(m["recipients"] == ["again@down.test"] for m in slow.messages)


def test_smarthost_with_auth_over_tls(outbound):
    port = outbound.port
    smarthost = outbound.receiver("mx-auth.test", tls=(str(outbound.cert), str(outbound.key)), auth=("relayuser", "s3cret"))
    server = outbound.server(extra=route("*", "mx-auth.test", port, "opportunistic")
                             + 'username = "relayuser"\npassword = "s3cret"\n'
                             + route("wrongpw.test", "mx-auth.test", port, "opportunistic")
                             + 'username = "relayuser"\npassword = "nope"\n')
    submit(server, SENDER, ["amy@anywhere.test"], subject="via smarthost")
    submit(server, SENDER, ["bo@wrongpw.test"], subject="refused login")
    wait_for(lambda: smarthost.count() == 1, what="delivery through the smarthost")
    message = smarthost.messages[0]
    assert message["tls"] is True and message["authenticated"] is True
    assert message["recipients"] == ["amy@anywhere.test"]
    assert ("PLAIN", "relayuser", True) in smarthost.logins
    wait_for(lambda: ("PLAIN", "relayuser", False) in smarthost.logins, what="the refused login")
    ids = wait_for(lambda: queue_ids(server), what="the entry with the refused login")
    shown = wait_for(lambda: (out := server.cli("queue", "show", ids[0]).stdout) and "attempts=1" in out and out,
                     what="the recorded failure")
    assert "535" in shown and "s3cret" not in shown and "nope" not in shown
    assert "nope" not in server.log()


def test_delay_notice_once_for_notify_delay(outbound):
    server = outbound.server(extra='delay_warning = "2s"\n')
    submit(server, SENDER, ["cy@down.test"], subject="slow going", rcpt_options=["NOTIFY=DELAY,FAILURE"])
    submit(server, SENDER, ["di@down.test"], subject="not asked")
    raw = wait_for(lambda: bounces(server), timeout=20, what="the delay notice")[0]
    message, human, recipients, parts = parse_dsn(raw)
    assert recipients[0]["Action"] == "delayed" and "cy@down.test" in recipients[0]["Final-Recipient"]
    assert "#4.4.1" in human
    ids = queue_ids(server)
    assert len(ids) == 2
    # Further retries send no second notice; the delivery itself sends none either.
    wait_for(lambda: "attempts=4" in server.cli("queue", "show", ids[0]).stdout, timeout=20, what="more attempts")
    down = outbound.receiver("mx-down.test")
    wait_for(lambda: queue_ids(server) == [], timeout=20, what="both deliveries")
    assert down.count() == 2
    assert len(bounces(server)) == 1


ROUTER_POLICY = """
local router = {}
function router.deliver(tx, rcpt, info)
  if rcpt.domain == "reject.test" then return mailgate.route("escape") end
  if rcpt.local_part == "lost" then return mailgate.route("nowhere") end
  return mailgate.next
end
return router
"""


def test_deliver_policy_picks_a_route(outbound, tmp_path):
    import smtplib
    import shutil
    from conftest import ROOT
    import pytest
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    (policies / "router.lua").write_text(ROUTER_POLICY)
    server = outbound.server(extra=f'[policy]\ndirectory = "{policies}"\nchain = ["relay", "router"]\n'
                             + route("escape", "mx-plain.test", outbound.port, "opportunistic"))
    # reject.test's own MX answers 550; the policy sends its mail through the "escape" route.
    submit(server, SENDER, ["ivan@reject.test", "judy@plain.test"], subject="rerouted")
    wait_for(lambda: sorted(r for m in outbound.plain.messages for r in m["recipients"])
             == ["ivan@reject.test", "judy@plain.test"], what="both recipients at mx-plain")
    wait_for(lambda: queue_ids(server) == [], what="an empty queue")
    assert bounces(server) == []
    # A route that is not configured is a policy error: temporary, nothing accepted.
    with pytest.raises(smtplib.SMTPDataError) as refused:
        submit(server, SENDER, ["lost@plain.test"], subject="nowhere")
    assert refused.value.smtp_code == 451
    assert "deliver hook picked an unknown route" in server.log()
