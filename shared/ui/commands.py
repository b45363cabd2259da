"""The commands the pages print so that anyone can check a published result themselves (the draw's
transcript and certificate, the replacements, the voting board, the audit trails): each starts by
downloading a file, always with the same command, written here once so that they stay in step."""

from __future__ import annotations

DOWNLOAD = "curl -fsS --retry 5"  # fail on an HTTP error, quiet but for errors, retry a flaky network


def download_command(url: str, out: str, *, bearer_env: str | None = None) -> str:
    """The line that saves `url` as the file `out`; with `bearer_env`, the access token is read
    from that environment variable (the shell expands it, so it is never printed)."""
    auth = f' -H "Authorization: Bearer ${bearer_env}"' if bearer_env else ""
    return f"{DOWNLOAD}{auth} -o {out} {url}"
