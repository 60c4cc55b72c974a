"""plugins/attachments.lua in the real server: swaks sends messages with attachments."""
import subprocess

import pytest

from conftest import require_tool
from plugin_support import plugin_config


def swaks(server, tmp_path, filename, content_type="application/octet-stream"):
    attachment = tmp_path / filename
    attachment.write_bytes(b"MZ\x90\x00 not really a program")
    result = subprocess.run(
        ["timeout", "60", require_tool("swaks"), "-s", "127.0.0.1", "-p", str(server.smtp_port),
         "-f", "s@remote.test", "-t", "bob@example.test", "--attach-type", content_type,
         "--attach-name", filename, "--attach", f"@{attachment}"],
        capture_output=True, text=True)
    return result


def test_exe_attachment_is_refused(make_server, tmp_path):
    server = make_server(plugin_config("attachments"))
    result = swaks(server, tmp_path, "setup.exe")
    assert "<** 554 5.3.4 Sorry, I don't accept messages with attachments of type .exe (#5.3.4)" in result.stdout
    assert server.messages("bob@example.test") == []
    result = swaks(server, tmp_path, "Invoice.PDF.exe", "application/pdf")
    assert "attachments of type .exe (#5.3.4)" in result.stdout


def test_harmless_attachment_passes(make_server, tmp_path):
    server = make_server(plugin_config("attachments"))
    result = swaks(server, tmp_path, "report.pdf", "application/pdf")
    assert result.returncode == 0, result.stdout
    assert len(server.messages("bob@example.test")) == 1


def test_content_type_is_refused(make_server, tmp_path):
    server = make_server(plugin_config("attachments"))
    result = swaks(server, tmp_path, "data.bin", "application/x-msdownload")
    assert "attachments of type application/x-msdownload (#5.3.4)" in result.stdout


def test_tag_keeps_the_message(make_server, tmp_path):
    server = make_server(plugin_config("attachments", 'action = "tag"'))
    result = swaks(server, tmp_path, "setup.exe")
    assert result.returncode == 0, result.stdout
    [entry] = server.messages("bob@example.test")
    assert "X-Attachment-Refused: .exe (setup.exe)" in server.message("bob@example.test", entry[0])
