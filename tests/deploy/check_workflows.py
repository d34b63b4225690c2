"""Checks .github/workflows: each file against GitHub's workflow schema (action-validator, from
tests/support/node), then what the release process promises (docs/operations.md "Deployment").

  check_workflows.py WORKFLOWS_DIR NODE ACTION_VALIDATOR_CLI
"""
import os
import sys

from deploy_check import Checker, load_yaml, run

workflows, node, validator = sys.argv[1:4]
c = Checker("workflows")
for name in ("ci.yml", "release.yml"):
    result = run([node, validator, os.path.join(workflows, name)])
    c.expect(result.returncode == 0, f"{name}: action-validator:\n{result.stdout}{result.stderr}")

# PyYAML reads the key `on` as True (YAML 1.1).
ci = load_yaml(os.path.join(workflows, "ci.yml"))
ci_on = ci.get(True, ci.get("on", {}))
c.expect("push" in ci_on and "pull_request" in ci_on, "ci runs on push and pull_request")
steps = [s for job in ci["jobs"].values() for s in job.get("steps", [])]
c.expect(any(s.get("run", "").strip() == "bash .ci/run" for s in steps), "ci runs bash .ci/run")
c.expect(any(s.get("uses", "").startswith("actions/cache@") and ".ccache" in s["with"]["path"]
             for s in steps), "ci caches ccache")
# The multi-arch proof (docs/container.md "Multi-arch"): its own job on Debian 12.
arm64 = ci["jobs"].get("arm64", {})
c.expect(arm64.get("container") == "debian:12", f"ci arm64 job on debian:12: {arm64.get('container')}")
c.expect(any(s.get("run", "").strip() == "bash scripts/cross-arm64.sh"
             for s in arm64.get("steps", [])), "ci arm64 job runs bash scripts/cross-arm64.sh")

release = load_yaml(os.path.join(workflows, "release.yml"))
release_on = release.get(True, release.get("on", {}))
c.expect(release_on == {"push": {"tags": ["v*"]}}, f"release runs on v* tags only: {release_on}")
text = open(os.path.join(workflows, "release.yml"), encoding="utf-8").read()
images = release["jobs"]["images"]
c.expect(images.get("permissions", {}).get("id-token") == "write", "id-token: write for cosign")
image_steps = images["steps"]
uses = [s.get("uses", "") for s in image_steps]
for action in ("docker/setup-qemu-action@", "docker/setup-buildx-action@",
               "docker/build-push-action@", "sigstore/cosign-installer@"):
    c.expect(any(u.startswith(action) for u in uses), f"images uses {action}")
build = next((s for s in image_steps if s.get("uses", "").startswith("docker/build-push")), {})
c.expect(build.get("with", {}).get("platforms") == "linux/amd64,linux/arm64", "both platforms")
c.expect(build.get("with", {}).get("sbom") is True, "the image build attaches an SBOM")
targets = {m["target"] for m in images["strategy"]["matrix"]["include"]}
c.expect(targets == {"", "control-plane"}, f"agent and control-plane images: {targets}")
meta = next((s for s in image_steps if s.get("uses", "").startswith("docker/metadata")), {})
tags = meta.get("with", {}).get("tags", "")
c.expect(release["env"]["PRERELEASE"] == "${{ contains(github.ref_name, '-') }}",
         "PRERELEASE = the tag contains '-'")
for pattern in ("{{major}}.{{minor}}", "{{major}},", "value=latest"):
    line = next((l for l in tags.splitlines() if pattern in l), "")
    c.expect("enable=${{ env.PRERELEASE == 'false' }}" in line,
             f"tag {pattern} is skipped for pre-releases: {line!r}")
c.expect("pattern={{version}}" in tags, "the X.Y.Z tag")
c.expect("cosign sign --yes" in text and "${DIGEST}" in text, "the pushed digest is signed")
binaries = release["jobs"]["binaries"]
c.expect(binaries.get("permissions", {}).get("contents") == "write", "binaries may release")
c.expect("sha256sum" in text and "dist/SHA256SUMS" in text, "release assets with SHA256SUMS")
c.expect(any(s.get("uses", "").startswith("softprops/action-gh-release@")
             for s in binaries["steps"]), "published with action-gh-release")
c.finish()
