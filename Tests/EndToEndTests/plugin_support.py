"""Config for end-to-end tests of the shipped plugins (plugins/*.lua): the default chain
with the plugin added at the end, the repository's policies and plugins directories, and
the plugin's [policy.NAME] settings."""
from conftest import ROOT

DEFAULT_CHAIN = ["ratelimit", "badmailfrom", "relay", "open_smtp", "limits"]


def plugin_config(name, settings="", extra=""):
    """mailgate.toml lines enabling plugin `name` with `settings` (TOML lines of its
    [policy.NAME] section); `extra` is appended as is (other sections)."""
    chain = ", ".join(f'"{policy}"' for policy in DEFAULT_CHAIN + [name])
    return (f'[policy]\ndirectory = "{ROOT / "policies"}"\nplugin_directory = "{ROOT / "plugins"}"\n'
            f"chain = [{chain}]\n[policy.{name}]\n{settings}\n{extra}\n")
