"""Checks deploy/docker-compose.yml and its control plane configuration.

  check_compose.py DEPLOY_DIR CONTROL_PLANE_BIN AGENT_BIN WORK_DIR

- compose/init.sh runs in a copy of deploy/ and produces every secret file compose mounts
  (twice: the second run changes nothing);
- docker-compose (Debian's, the Compose file schema) accepts the file (`config -q`);
- structure: the services, healthchecks, the read-only docker socket, the state volume, no key
  in .env.example;
- the rendered control-plane.yaml is served by the real control plane (`serve` refuses an invalid
  configuration), with the container paths mapped to the copy; its key hash matches the
  agent key init.sh wrote (as `hash-key` computes it); a broken copy is refused;
- what init.sh generated works together: the real agent, with compose/.env and the generated CA,
  registers (health-check "online"), and the operator CLI is let in with the admin token.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from deploy_check import Checker, load_yaml, run

deploy_dir, control_plane, agent_bin, work = sys.argv[1:5]
c = Checker("compose")
shutil.rmtree(work, ignore_errors=True)
copy = os.path.join(work, "deploy")
shutil.copytree(deploy_dir, copy, ignore=shutil.ignore_patterns("secrets", ".env"))

init = run(["bash", os.path.join(copy, "compose", "init.sh")])
if not c.expect(init.returncode == 0, f"init.sh failed: {init.stderr}"):
    c.finish()

# Re-running keeps every key (no rotation under a running stack).
rendered = os.path.join(copy, "compose", "secrets", "control-plane.yaml")
before = open(rendered, encoding="utf-8").read()
again = run(["bash", os.path.join(copy, "compose", "init.sh")])
c.expect(again.returncode == 0 and open(rendered, encoding="utf-8").read() == before,
         f"a second init.sh changed the configuration: {again.stderr}")

validated = run(["docker-compose", "-f", "docker-compose.yml", "config", "-q"], cwd=copy)
c.expect(validated.returncode == 0, f"docker-compose config: {validated.stderr.strip()}")

compose = load_yaml(os.path.join(copy, "docker-compose.yml"))
services = compose.get("services", {})
c.expect(set(services) == {"control-plane", "agent", "postgres", "minio", "minio-init"},
         f"services: {sorted(services)}")
for name, service in services.items():
    if name != "minio-init":  # a one-shot: its exit status is its check
        c.expect("test" in service.get("healthcheck", {}), f"{name} has no healthcheck")

agent = services.get("agent", {})
c.expect("target" not in agent.get("build", {}), "the agent builds the Dockerfile's default target")
c.expect("/var/run/docker.sock:/var/run/docker.sock:ro" in agent.get("volumes", []),
         "the agent mounts the docker socket read-only")
c.expect(any(v.split(":")[0] in compose.get("volumes", {}) and v.split(":")[1] == "/var/lib/backupy"
             for v in agent.get("volumes", [])), "the agent's state dir is a named volume")
c.expect(agent.get("healthcheck", {}).get("test") == ["CMD", "backupy-agent", "health-check"],
         "the agent's healthcheck is backupy-agent health-check")
c.expect(agent.get("env_file") == "compose/.env", "the agent reads compose/.env")
cp = services.get("control-plane", {})
c.expect("https://localhost:8443/healthz" in cp.get("healthcheck", {}).get("test", []),
         "the control plane's healthcheck asks /healthz")
c.expect(cp.get("build", {}).get("target") == "control-plane", "control-plane build target")
c.expect(str(services.get("postgres", {}).get("image", "")).startswith("postgres:15"), "postgres:15")
c.expect(str(services.get("minio", {}).get("image", "")).startswith("minio/minio"), "minio image")
c.expect(services.get("minio-init", {}).get("restart") == "no", "minio-init is a one-shot")
c.expect(cp.get("depends_on", {}).get("minio-init", {}).get("condition") ==
         "service_completed_successfully", "the control plane waits for the bucket")

# No key in the shipped example; init.sh filled in the copy's .env.
with open(os.path.join(deploy_dir, "compose", ".env.example"), encoding="utf-8") as f:
    example = dict(line.strip().split("=", 1) for line in f if "=" in line and not line.startswith("#"))
c.expect(example.get("BACKUPY_AGENT_KEY") == "", ".env.example must not carry a key")
c.expect(example.get("BACKUPY_SERVER_URL", "").startswith("https://control-plane:"),
         ".env.example points at the control-plane service")
with open(os.path.join(copy, "compose", ".env"), encoding="utf-8") as f:
    env = dict(line.strip().split("=", 1) for line in f if "=" in line and not line.startswith("#"))
agent_key = env.get("BACKUPY_AGENT_KEY", "")
c.expect(re.fullmatch(r"[0-9a-f]{64}", agent_key), "init.sh wrote a 64-hex agent key")

# Every compose secret file exists; map the container paths of the control plane's to them.
secret_files = {name: os.path.join(copy, spec["file"]) for name, spec in compose["secrets"].items()}
for name, path in secret_files.items():
    c.expect(os.path.isfile(path), f"secret {name}: {path} missing after init.sh")
mounted = set(cp.get("secrets", []))
config_path = secret_files["control_plane_config"]
with open(config_path, encoding="utf-8") as f:
    config = f.read()
for name in re.findall(r"/run/secrets/([a-z_]+)", config):
    c.expect(name in mounted, f"control-plane.yaml reads /run/secrets/{name}, not mounted")
state = os.path.join(work, "cp-state")
os.makedirs(state)
local = re.sub(r"/run/secrets/([a-z_]+)", lambda m: secret_files.get(m.group(1), m.group(0)), config)
local = local.replace("/var/lib/backupy-control-plane", state)
c.expect('listen: "0.0.0.0:8443"' in local, "the control plane listens on 0.0.0.0:8443")
local = local.replace('listen: "0.0.0.0:8443"', 'listen: "127.0.0.1:0"')

hashed = subprocess.run([control_plane, "hash-key"], input=agent_key, capture_output=True,
                        text=True, timeout=30)
c.expect(hashed.returncode == 0 and f'key_sha256: "{hashed.stdout.strip()}"' in config,
         "the rendered key_sha256 is hash-key of the agent key")
c.expect("@POSTGRES_PASSWORD@" not in config, "init.sh filled in the database password")


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def serve(text, name, while_up=None):
    """Starts serve on a config; returns (listening?, output). While it listens, runs
    while_up(port); then stops it."""
    path = os.path.join(work, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    log = open(os.path.join(work, name + ".log"), "w+", encoding="utf-8")
    proc = subprocess.Popen([control_plane, "serve", "--config", path], stdout=log,
                            stderr=subprocess.STDOUT)

    def output():
        log.seek(0)
        return log.read()

    listening = wait_for(lambda: proc.poll() is not None or '"msg":"listening"' in output(), 20)
    listening = listening and proc.poll() is None
    if listening and while_up:
        port = re.search(r'"msg":"listening".*?"port":(\d+)', output()).group(1)
        while_up(port)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    return listening, output()


def healthcheck_passes(port):
    """The control plane's compose healthcheck, its paths and port mapped, against the server."""
    test = [re.sub(r"/run/secrets/([a-z_]+)", lambda m: secret_files[m.group(1)], arg)
            for arg in cp["healthcheck"]["test"][1:]]
    test = [arg.replace(":8443/", f":{port}/") for arg in test]
    result = run(test)
    c.expect(result.returncode == 0, f"healthcheck {test}: {result.stdout}{result.stderr}")


def agent_registers(port):
    """The real agent with the generated .env, key and CA registers; the admin token works."""
    healthcheck_passes(port)
    secrets = os.path.join(copy, "compose", "secrets")
    # The caller's environment (sanitizer options) without its own BACKUPY_* settings.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("BACKUP")}
    agent_env = {**inherited, **env,
                 "BACKUPY_SERVER_URL": f"https://127.0.0.1:{port}",
                 "BACKUPY_STATE_DIR": os.path.join(work, "agent-state"),
                 "BACKUPY_CA_FILE": os.path.join(secrets, "ca.crt"),
                 "BACKUPY_METRICS_LISTEN_ADDR": "", "BACKUPY_DISABLE_DISCOVERY": "true"}
    agent_log = open(os.path.join(work, "agent.log"), "w+", encoding="utf-8")
    agent = subprocess.Popen([agent_bin, "run"], env=agent_env, stdout=agent_log,
                             stderr=subprocess.STDOUT)
    try:
        health = lambda: subprocess.run([agent_bin, "health-check"], env=agent_env,
                                        capture_output=True, text=True, timeout=10).stdout
        online = wait_for(lambda: "healthy: online" in health(), 20)
        agent_log.seek(0)
        c.expect(online, f"the agent did not register: {health()}\n{agent_log.read()}")
        cli = subprocess.run(
            [control_plane, "agents", "--token-file", os.path.join(secrets, "admin-token")],
            env={**inherited, "BACKUPY_CP_URL": f"https://localhost:{port}",
                 "BACKUPY_CP_CA": os.path.join(secrets, "ca.crt")},
            capture_output=True, text=True, timeout=30)
        c.expect(cli.returncode == 0 and "compose-agent" in cli.stdout,
                 f"operator CLI with the admin token: {cli.stdout}{cli.stderr}")
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=15)


ok, output = serve(local, "cp.yaml", agent_registers)
c.expect(ok, f"the control plane did not start on the compose configuration:\n{output}")
# The same check refuses a broken configuration (so the one above can fail).
ok, output = serve(local.replace("url_ttl_sec:", "url_ttl_secs:"), "broken.yaml")
c.expect(not ok and "url_ttl_secs" in output, f"a broken configuration was accepted:\n{output}")
c.finish()
