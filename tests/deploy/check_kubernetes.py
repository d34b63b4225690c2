"""Structural check of deploy/kubernetes/agent.yaml (no offline schema validator is available
from the registries we use): every object has apiVersion/kind/metadata.name of a known kind,
and the agent's Deployment has what docs/operations.md "Deployment" promises.

  check_kubernetes.py MANIFEST
"""
import sys

from deploy_check import Checker, load_yaml_all

c = Checker("kubernetes")
docs = load_yaml_all(sys.argv[1])
KNOWN = {("v1", "Namespace"), ("v1", "PersistentVolumeClaim"), ("v1", "Secret"),
         ("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet")}
by_kind = {}
for doc in docs:
    kind = (doc.get("apiVersion"), doc.get("kind"))
    c.expect(kind in KNOWN, f"unknown apiVersion/kind {kind}")
    c.expect(doc.get("metadata", {}).get("name"), f"{kind}: metadata.name missing")
    if doc.get("kind") != "Namespace":
        c.expect(doc["metadata"].get("namespace") == "backupy", f"{kind}: namespace backupy")
    by_kind.setdefault(doc.get("kind"), []).append(doc)

deployments = by_kind.get("Deployment", [])
if not c.expect(len(deployments) == 1, "exactly one Deployment"):
    c.finish()
spec = deployments[0]["spec"]
c.expect(spec.get("replicas") == 1, "replicas: 1 (one agent per state dir)")
c.expect(spec.get("strategy", {}).get("type") == "Recreate", "strategy Recreate")
pod = spec["template"]["spec"]
labels = spec["template"]["metadata"]["labels"]
c.expect(all(labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()),
         "the selector matches the pod labels")
c.expect(pod.get("securityContext", {}).get("runAsUser") == 1000, "runAsUser 1000")
c.expect(pod.get("securityContext", {}).get("runAsNonRoot") is True, "runAsNonRoot")
containers = pod.get("containers", [])
if not c.expect(len(containers) == 1, "one container"):
    c.finish()
agent = containers[0]
sc = agent.get("securityContext", {})
c.expect(sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem")
c.expect(sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation false")
c.expect(sc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities drop ALL")
c.expect(agent.get("livenessProbe", {}).get("exec", {}).get("command") ==
         ["backupy-agent", "health-check"], "liveness = backupy-agent health-check")
ready = agent.get("readinessProbe", {}).get("httpGet", {})
ports = {p["name"]: p["containerPort"] for p in agent.get("ports", [])}
c.expect(ready.get("path") == "/healthz" and ports.get(ready.get("port"), ready.get("port")) == 9090,
         "readiness = GET /healthz on 9090")
resources = agent.get("resources", {})
c.expect(resources.get("requests") and resources.get("limits"), "resources requests and limits")

env = {e["name"]: e for e in agent.get("env", [])}
key = env.get("BACKUPY_AGENT_KEY", {})
c.expect("value" not in key and key.get("valueFrom", {}).get("secretKeyRef"),
         "BACKUPY_AGENT_KEY comes from a Secret, never a literal")
c.expect(env.get("BACKUPY_SERVER_URL", {}).get("value", "").startswith("https://"),
         "BACKUPY_SERVER_URL is https")
c.expect(env.get("BACKUPY_METRICS_LISTEN_ADDR", {}).get("value") == "0.0.0.0:9090",
         "metrics listen on 0.0.0.0:9090")
volumes = {v["name"]: v for v in pod.get("volumes", [])}
mounts = {m["mountPath"]: m["name"] for m in agent.get("volumeMounts", [])}
for path, name in mounts.items():
    c.expect(name in volumes, f"volumeMount {path} names no volume ({name})")
state_dir = env.get("BACKUPY_STATE_DIR", {}).get("value")
state = volumes.get(mounts.get(state_dir), {})
claims = {d["metadata"]["name"] for d in by_kind.get("PersistentVolumeClaim", [])}
c.expect(state.get("persistentVolumeClaim", {}).get("claimName") in claims,
         f"the state dir {state_dir} is a PVC defined in the file")
c.expect("/tmp" in mounts, "a writable /tmp beside the read-only root")
c.finish()
