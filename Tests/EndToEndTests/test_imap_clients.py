"""Real IMAP clients against the built binary: mbsync (two-way sync of several folders
into a Maildir, flags and deletions on both sides, an idempotent re-sync),
offlineimap3, neomutt under tmux (read a message, move it) and curl."""
import imaplib
import os
import pathlib
import subprocess
import time

from conftest import require_tool, wait_for


def imap_login(server, user="bob@example.test", password="secret"):
    client = imaplib.IMAP4("127.0.0.1", server.imap_port, timeout=30)
    client.login(user, password)
    return client


def folder_state(server, folder):
    """{uid: flags} of a folder, as the server has it."""
    client = imap_login(server)
    client.select(folder, readonly=True)
    typ, data = client.uid("FETCH", "1:*", "(FLAGS)")
    client.logout()
    state = {}
    for line in data:
        if not line:
            continue
        text = line.decode()
        uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
        flags = text.split("FLAGS (")[1].split(")")[0].split()
        state[uid] = sorted(flags)
    return state


def maildir_files(root):
    return sorted(str(path.relative_to(root)) for path in pathlib.Path(root).rglob("*")
                  if path.is_file() and not path.name.startswith("."))


def run(args, timeout=120, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, f"{args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def test_mbsync_two_way_sync(server, tmp_path):
    mbsync = require_tool("mbsync")
    for subject in ["one", "two", "three"]:
        server.deliver("bob@example.test", subject=subject)
    client = imap_login(server)
    client.append("Archive", "(\\Seen)", None, b"From: bob@example.test\r\nSubject: archived\r\n\r\nOld.\r\n")
    client.logout()
    maildir = tmp_path / "maildir"
    maildir.mkdir()
    rc = tmp_path / "mbsyncrc"
    rc.write_text(
        f"IMAPAccount mg\nHost 127.0.0.1\nPort {server.imap_port}\nUser bob@example.test\nPass secret\n"
        f"SSLType None\nAuthMechs LOGIN\n\n"
        f"IMAPStore remote\nAccount mg\n\n"
        f"MaildirStore local\nPath {maildir}/\nInbox {maildir}/INBOX\nSubFolders Verbatim\n\n"
        f"Channel sync\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\nExpunge Both\nSyncState *\n")
    sync = [mbsync, "-c", str(rc), "sync"]
    run(sync)
    inbox = sorted((maildir / "INBOX").glob("*/*"))
    assert len(inbox) == 3
    assert len(list((maildir / "Archive").glob("*/*"))) == 1
    for name in ["Sent", "Drafts", "Trash", "Junk"]:
        assert (maildir / name).is_dir(), name

    # Locally: read the first message, delete the second, write a draft.
    by_subject = {}
    for path in inbox:
        subject = next(line for line in path.read_text().splitlines() if line.startswith("Subject:"))
        by_subject[subject.split(": ", 1)[1]] = path
    one, two = by_subject["one"], by_subject["two"]
    one.rename(one.parent.parent / "cur" / (one.name.split(",U=")[0] + ",U=" + one.name.split(",U=")[1].split(":")[0] + ":2,S"))
    two.rename(two.parent.parent / "cur" / (two.name.split(",U=")[0] + ",U=" + two.name.split(",U=")[1].split(":")[0] + ":2,T"))
    (maildir / "Drafts" / "new" / f"{time.time_ns()}.local").write_text("From: bob@example.test\nSubject: draft\n\nLater.\n")
    # Remotely: flag "three".
    client = imap_login(server)
    client.select("INBOX")
    uid_three = next(uid for uid in folder_state(server, "INBOX") if uid == 3)
    client.uid("STORE", str(uid_three), "+FLAGS", "(\\Flagged)")
    client.logout()

    run(sync)
    inbox_state = folder_state(server, "INBOX")
    assert inbox_state == {1: ["\\Seen"], 3: ["\\Flagged"]}, inbox_state
    assert len(folder_state(server, "Drafts")) == 1
    assert any(name.endswith("F") for name in maildir_files(maildir / "INBOX"))
    assert len(maildir_files(maildir / "INBOX")) == 2

    # Remotely: delete "three"; the next sync removes it locally.
    client = imap_login(server)
    client.select("INBOX")
    client.uid("STORE", "3", "+FLAGS", "(\\Deleted)")
    client.expunge()
    client.logout()
    run(sync)
    assert len(maildir_files(maildir / "INBOX")) == 1

    # A sync with nothing to do changes nothing on either side.
    before_local = maildir_files(maildir)
    before_remote = {name: folder_state(server, name) for name in ["INBOX", "Drafts", "Archive"]}
    run(sync)
    assert maildir_files(maildir) == before_local
    assert {name: folder_state(server, name) for name in ["INBOX", "Drafts", "Archive"]} == before_remote


def test_offlineimap_sync(server, tmp_path):
    offlineimap = require_tool("offlineimap")
    server.deliver("bob@example.test", subject="for offlineimap")
    local = tmp_path / "mail"
    rc = tmp_path / "offlineimaprc"
    rc.write_text(
        "[general]\naccounts = mg\nmetadata = " + str(tmp_path / "meta") + "\n\n"
        "[Account mg]\nlocalrepository = local\nremoterepository = remote\n\n"
        f"[Repository local]\ntype = Maildir\nlocalfolders = {local}\n\n"
        f"[Repository remote]\ntype = IMAP\nremotehost = 127.0.0.1\nremoteport = {server.imap_port}\n"
        "remoteuser = bob@example.test\nremotepass = secret\nssl = no\nstarttls = no\n")
    run([offlineimap, "-c", str(rc), "-o", "-u", "quiet"], env={**os.environ, "HOME": str(tmp_path)})
    files = [path for path in local.rglob("*") if path.is_file() and "INBOX" in str(path)]
    assert len(files) == 1 and "for offlineimap" in files[0].read_text()
    # Read locally; the flag goes back to the server.
    path = files[0]
    path.rename(path.parent.parent / "cur" / (path.name.split(":2,")[0] + ":2,S"))
    run([offlineimap, "-c", str(rc), "-o", "-u", "quiet"], env={**os.environ, "HOME": str(tmp_path)})
    assert folder_state(server, "INBOX") == {1: ["\\Seen"]}


def test_neomutt_reads_and_moves_a_message(server, tmp_path):
    neomutt = require_tool("neomutt")
    tmux = require_tool("tmux")
    server.deliver("bob@example.test", subject="Read me in neomutt", body="Neomutt was here.\r\n")
    muttrc = tmp_path / "muttrc"
    muttrc.write_text(
        f'set folder="imap://127.0.0.1:{server.imap_port}/"\n'
        'set imap_user="bob@example.test"\nset imap_pass="secret"\n'
        'set spoolfile="+INBOX"\nset ssl_starttls=no\nset ssl_force_tls=no\n'
        f'set header_cache="{tmp_path}/hcache"\nset message_cachedir="{tmp_path}/bcache"\n'
        'set delete=yes\nset confirmappend=no\nset mark_old=no\nset move=no\nset pager_stop=yes\n'
        'set imap_check_subscribed=no\nset sleep_time=0\nset wait_key=no\n')
    socket_name = f"mg{os.getpid()}"
    env = {**os.environ, "HOME": str(tmp_path), "TERM": "xterm"}

    def screen():
        return subprocess.run([tmux, "-L", socket_name, "capture-pane", "-p", "-t", "nm"],
                              capture_output=True, text=True, env=env).stdout

    def wait_screen(text, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in (shown := screen()):
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} not on screen:\n{screen()}")

    def keys(*sequence):
        subprocess.run([tmux, "-L", socket_name, "send-keys", "-t", "nm", *sequence], env=env, check=True)

    subprocess.run([tmux, "-L", socket_name, "new", "-d", "-s", "nm", "-x", "120", "-y", "30",
                    f"{neomutt} -n -F {muttrc}"], env=env, check=True)
    try:
        wait_screen("Read me in neomutt")
        keys("Enter")
        wait_screen("Neomutt was here.")
        keys("q")
        wait_screen("Read me in neomutt")
        keys("s")
        wait_screen("Save to mailbox")
        keys("C-u", "=Archive", "Enter")
        wait_for(lambda: folder_state(server, "Archive"), timeout=20, what="the copy in Archive")
        keys("$")   # sync: the saved message is expunged from INBOX
        deadline = time.time() + 20
        while time.time() < deadline and (folder_state(server, "INBOX") or not folder_state(server, "Archive")):
            time.sleep(0.3)
        keys("q")
    finally:
        subprocess.run([tmux, "-L", socket_name, "kill-server"], env=env, capture_output=True)
    assert folder_state(server, "INBOX") == {}
    archived = folder_state(server, "Archive")
    assert len(archived) == 1 and "\\Seen" in next(iter(archived.values()))


def test_curl_imap(server, tmp_path):
    curl = require_tool("curl")
    server.deliver("bob@example.test", subject="curl me", body="Fetched by curl.\r\n")
    base = f"imap://127.0.0.1:{server.imap_port}"
    auth = ["--user", "bob@example.test:secret", "--login-options", "AUTH=PLAIN"]
    listing = run([curl, "-s", *auth, base + "/"]).stdout
    assert '"INBOX"' in listing or " INBOX" in listing
    assert "Archive" in listing
    assert "SEARCH 1" in run([curl, "-s", *auth, base + "/INBOX", "-X", "SEARCH ALL"]).stdout
    fetched = run([curl, "-s", *auth, base + "/INBOX;UID=1"]).stdout
    assert "Subject: curl me" in fetched and "Fetched by curl." in fetched
    header = run([curl, "-s", *auth, base + "/INBOX;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)"]).stdout
    assert header.strip() == "Subject: curl me"
    message = tmp_path / "append.eml"
    message.write_bytes(b"From: bob@example.test\r\nSubject: uploaded\r\n\r\nBy curl.\r\n")
    run([curl, "-s", *auth, base + "/Drafts", "-T", str(message)])
    assert len(folder_state(server, "Drafts")) == 1
    denied = subprocess.run([curl, "-s", "--user", "bob@example.test:wrong", base + "/"], capture_output=True, timeout=60)
    assert denied.returncode == 67
