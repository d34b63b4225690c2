"""Checks deploy/systemd: `systemd-analyze verify` and `security --offline=yes`.

  check_systemd.py SYSTEMD_DIR AGENT_BIN CONTROL_PLANE_BIN WORK_DIR

verify needs the ExecStart binaries: temp copies of the units point at the built ones. verify
only warns about unknown or misspelt keys (exit 0), so any diagnostic naming a unit fails too.
The exposure score of each unit must stay at or below MAX_EXPOSURE (docs/operations.md records
the current scores), and the settings the deployment relies on are checked by name.
"""
import configparser
import os
import re
import shutil
import sys

from deploy_check import Checker, run

systemd_dir, agent_bin, cp_bin, work = sys.argv[1:5]
MAX_EXPOSURE = 2.0
c = Checker("systemd")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)

units = {"backupy-agent.service": ("/usr/local/bin/backupy-agent", agent_bin),
         "backupy-control-plane.service": ("/usr/local/bin/backupy-control-plane", cp_bin)}
copies = []
for unit, (installed, built) in units.items():
    with open(os.path.join(systemd_dir, unit), encoding="utf-8") as f:
        text = f.read()
    c.expect(f"ExecStart={installed} " in text, f"{unit}: ExecStart is not {installed}")
    copy = os.path.join(work, unit)
    with open(copy, "w", encoding="utf-8") as f:
        f.write(text.replace(f"ExecStart={installed} ", f"ExecStart={os.path.abspath(built)} "))
    copies.append(copy)

    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str
    parser.read_string(text)
    service = parser["Service"]
    for key, want in {"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
                      "NoNewPrivileges": "yes", "CapabilityBoundingSet": "",
                      "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes",
                      "Restart": "on-failure", "KillSignal": "SIGTERM"}.items():
        c.expect(service.get(key) == want, f"{unit}: {key}={service.get(key)!r}, want {want!r}")
    c.expect("AF_UNIX" in service.get("RestrictAddressFamilies", ""), f"{unit}: AF_UNIX allowed")
    c.expect(service.get("StateDirectory"), f"{unit}: StateDirectory")
    c.expect(service.get("EnvironmentFile"), f"{unit}: EnvironmentFile for secrets")
    c.expect("@system-service" in text, f"{unit}: SystemCallFilter=@system-service")
    # The agent exits within 10 s of SIGTERM (operations.md "Signals"): the stop timeout must
    # leave it that, and SIGTERM must reach the agent alone so it stops its own dump tools.
    stop = int(service.get("TimeoutStopSec", "0").rstrip("s"))
    c.expect(stop >= 10, f"{unit}: TimeoutStopSec={stop} < 10 s")
    if unit == "backupy-agent.service":
        c.expect(service.get("KillMode") == "mixed", f"{unit}: KillMode=mixed")
        c.expect(service.get("Environment") == "BACKUPY_STATE_DIR=/var/lib/" +
                 service.get("StateDirectory"), f"{unit}: BACKUPY_STATE_DIR = StateDirectory")

verify = run(["systemd-analyze", "verify", *copies], cwd=work)
diagnostics = [line for line in (verify.stdout + verify.stderr).splitlines()
               if any(unit in line for unit in units)]
c.expect(verify.returncode == 0 and not diagnostics,
         f"systemd-analyze verify (exit {verify.returncode}):\n" +
         "\n".join(diagnostics or [verify.stderr]))

for copy in copies:
    security = run(["systemd-analyze", "security", "--offline=yes", "--no-pager", copy], cwd=work)
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", security.stdout)
    if c.expect(match, f"security {copy}: no score (exit {security.returncode}) {security.stderr}"):
        score = float(match.group(1))
        print(f"{os.path.basename(copy)}: exposure {score}")
        c.expect(score <= MAX_EXPOSURE, f"{copy}: exposure {score} > {MAX_EXPOSURE}")
c.finish()
