"""Shared pieces of the SPF and DMARC interoperability tests: a dnsmasq serving TXT,
A/AAAA, MX and PTR records from a Python description, and `mailgate spf|dmarc check`
run against it (its `[delivery] nameserver`)."""
import pathlib
import subprocess

from conftest import BIN
from outbound_support import DNSServer


def dnsmasq_records(txt=None, hosts=None, mx=None, ptr=None, extra=()):
    """dnsmasq arguments. txt: name -> text or list of texts (several records);
    hosts: name -> list of addresses (v4 and/or v6); mx: name -> list of (host, pref);
    ptr: reverse name -> target."""
    args = ["--host-record=ready.test,127.0.0.99"]
    for name, texts in (txt or {}).items():
        for text in [texts] if isinstance(texts, str) else texts:
            # On dnsmasq's command line a comma starts a new character-string and quotes
            # are kept as text (they only quote in a conf file): no commas here. Long texts
            # are served as 255-byte strings, as real DNS does.
            assert "," not in text and '"' not in text, text
            args.append(f"--txt-record={name},{text}")
    for name, addresses in (hosts or {}).items():
        for address in addresses:
            args.append(f"--host-record={name},{address}")
    for name, exchanges in (mx or {}).items():
        for host, preference in exchanges:
            args.append(f"--mx-host={name},{host},{preference}")
    for name, target in (ptr or {}).items():
        args.append(f"--ptr-record={name},{target}")
    return args + list(extra)


def start_dns(records):
    return DNSServer(records)


def write_config(directory: pathlib.Path, dns_port: int) -> pathlib.Path:
    config = directory / "mailgate.toml"
    config.write_text(f'hostname = "mx.receiver.test"\ndata_dir = "{directory / "data"}"\n'
                      f'[delivery]\nnameserver = "127.0.0.1:{dns_port}"\n')
    return config


def mailgate_check(config, *args):
    """`mailgate --config CONFIG ARGS…` → {key: value} from its "key: value" lines."""
    completed = subprocess.run([BIN, "--config", str(config), *args], capture_output=True, text=True, timeout=90)
    assert completed.returncode == 0, f"mailgate {' '.join(args)}: {completed.returncode} {completed.stderr}"
    facts = {}
    for line in completed.stdout.splitlines():
        key, _, value = line.partition(": ")
        facts[key] = value
    return facts
