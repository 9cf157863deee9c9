"""`none`: no isolation; the candidate runs as a plain child process with a scrubbed environment.

It still gets only the allowlisted environment (no secrets), its process group and every process
still carrying its marker variable are killed with it, and Loom still keeps the sealed labels out of
every folder a candidate starts in. What it cannot stop: reading or writing anything the user can by
absolute path, the network, and a hostile candidate's daemon that leaves the process group and drops
the marker (setsid, then exec with an empty environment): it outlives the candidate. bwrap's PID
namespace and --die-with-parent stop all three. Loom says so once per run, with the command that
installs bubblewrap.
"""

from __future__ import annotations

import os
from pathlib import Path

from loom.application.ports.sandbox import Launch, SandboxRequest

INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: sudo apt-get install -y bubblewrap) and set LOOM_SANDBOX=auto"
WARNING = ("candidates are NOT isolated (LOOM_SANDBOX=none): they run with your file-system and network "
           "access, and a process a hostile one detaches can outlive it (their environment is still "
           "scrubbed of secrets); to isolate them, " + INSTALL_HINT)


class NoSandbox:
    """The command unchanged; the environment exactly the allowlist; TMPDIR inside the workdir."""

    name = "none"
    isolated = False
    warning = WARNING

    def wrap(self, request: SandboxRequest) -> Launch:
        ws = Path(request.workdir)
        tmp = ws / "working" / ".tmp" if (ws / "working").is_dir() else ws / ".tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        env = dict(request.env)
        for key in ("TMPDIR", "MPLCONFIGDIR"):  # no private /tmp here: keep scratch inside the folder
            if env.get(key, "").startswith("/tmp"):
                env[key] = str(tmp) + env[key][len("/tmp"):]
        env.setdefault("PATH", os.defpath)
        return Launch(argv=list(request.argv), env=env)
