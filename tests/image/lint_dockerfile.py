#!/usr/bin/env python3
"""Checks the Dockerfile without a Docker engine (docs/container.md, "What is tested").

No engine and no hadolint run here, so this parses the Dockerfile itself (continuation lines,
comments, JSON or shell forms, ARG defaults per stage) and checks what the image promises:

- every COPY --from names an earlier stage; the agent is the last (default) stage;
- each runtime stage (agent, control-plane) runs as BACKUPY_UID, has HEALTHCHECK, ENTRYPOINT
  (tini, "--", the app), STOPSIGNAL, VOLUME (its state dir) and the OCI labels;
- every `ARG NAME=value` whose NAME is a key of deploy/image/layout.env carries that value,
  every key is declared somewhere, and the agent's state dir is config::kDefaultStateDir;
- .dockerignore keeps .git and build trees out of the context.

  lint_dockerfile.py --root DIR              check DIR/Dockerfile; exit 1 listing every problem
  lint_dockerfile.py --root DIR --self-test  also prove that broken Dockerfiles are caught
  lint_dockerfile.py --root DIR --print-arg STAGE NAME   print an ARG's resolved default
"""
import argparse
import json
import re
import sys
from pathlib import Path

RUNTIME_STAGES = {"agent": "backupy-agent", "control-plane": "backupy-control-plane"}
STATE_DIR_ARG = {"agent": "AGENT_STATE_DIR", "control-plane": "CP_STATE_DIR"}
OCI_LABELS = ["title", "description", "version", "revision", "created", "base.name"]
BUILD_ARG_LABELS = {"version": "VERSION", "revision": "REVISION", "created": "CREATED"}


def read_layout(path):
    layout = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(\S+)", line)
        if not match:
            raise ValueError(f"{path}:{number}: not a NAME=value line: {line!r}")
        layout[match.group(1)] = match.group(2)
    return layout


def logical_lines(text):
    """(line number, instruction, arguments): continuations joined, comments dropped."""
    result, parts, start = [], [], None
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not parts):
            continue  # comments may sit inside a continued instruction too
        if start is None:
            start = number
        if stripped.endswith("\\"):
            parts.append(stripped[:-1].strip())
            continue
        parts.append(stripped)
        joined = " ".join(p for p in parts if p)
        keyword, _, rest = joined.partition(" ")
        result.append((start, keyword.upper(), rest.strip()))
        parts, start = [], None
    if parts:
        raise ValueError(f"Dockerfile:{start}: the file ends inside a continued instruction")
    return result


def split_args(text):
    """ARG/ENV/LABEL pairs: NAME=value with optional double quotes, or a bare NAME."""
    return re.findall(r'([A-Za-z_][\w.\-]*)(?:=("(?:[^"\\]|\\.)*"|\S*))?', text)


def unquote(value):
    return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value


class Stage:
    def __init__(self, name, index, line):
        self.name, self.index, self.line = name, index, line
        self.args = {}  # declared ARG -> default (None: no default)
        self.instructions = []  # (line, keyword, rest)

    def all(self, keyword):
        return [(line, rest) for line, kw, rest in self.instructions if kw == keyword]


def parse(text):
    global_args, stages = {}, []
    for line, keyword, rest in logical_lines(text):
        if keyword == "FROM":
            match = re.fullmatch(r"(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", rest, re.IGNORECASE)
            if not match:
                raise ValueError(f"Dockerfile:{line}: cannot read FROM {rest!r}")
            stages.append(Stage(match.group(2) or str(len(stages)), len(stages), line))
            continue
        if keyword == "ARG":
            for name, value in split_args(rest):
                target = stages[-1].args if stages else global_args
                if value:
                    target[name] = unquote(value)
                elif stages and name in global_args:
                    target[name] = global_args[name]  # `ARG NAME` re-imports the global
                else:
                    target.setdefault(name, None)
        if stages:
            stages[-1].instructions.append((line, keyword, rest))
    return global_args, stages


def resolve(text, args):
    return re.sub(r"\$\{?([A-Za-z_]\w*)\}?", lambda m: args.get(m.group(1)) or m.group(0), text)


def exec_form(rest):
    try:
        value = json.loads(rest)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None


def check(dockerfile_text, layout, default_state_dir, dockerignore_text):
    problems = []
    try:
        _, stages = parse(dockerfile_text)
    except ValueError as e:
        return [str(e)]
    by_name = {s.name: s for s in stages}

    for stage in stages:
        for line, rest in stage.all("COPY") + stage.all("ADD"):
            match = re.search(r"--from=(\S+)", rest)
            if not match:
                continue
            source = match.group(1)
            earlier = [s.name for s in stages[: stage.index]]
            if source not in earlier and not (source.isdigit() and int(source) < stage.index):
                problems.append(f"Dockerfile:{line}: COPY --from={source}: no earlier stage "
                                f"of that name (earlier: {', '.join(earlier) or 'none'})")

    if not stages or stages[-1].name != "agent":
        problems.append("the last stage (docker build's default target) must be 'agent'")

    # layout.env <-> ARG defaults
    declared = set()
    for stage in stages:
        for name, value in stage.args.items():
            if name in layout:
                declared.add(name)
                if value != layout[name]:
                    problems.append(f"Dockerfile:{stage.line}: stage {stage.name}: ARG {name}="
                                    f"{value} but deploy/image/layout.env says {layout[name]}")
    for name in sorted(set(layout) - declared):
        problems.append(f"deploy/image/layout.env: {name} is not declared as an ARG in the "
                        "Dockerfile")
    if layout.get("AGENT_STATE_DIR") != default_state_dir:
        problems.append(f"deploy/image/layout.env: AGENT_STATE_DIR={layout.get('AGENT_STATE_DIR')}"
                        f" but the agent's default BACKUPY_STATE_DIR is {default_state_dir}")

    for name, app in RUNTIME_STAGES.items():
        stage = by_name.get(name)
        if stage is None:
            problems.append(f"no stage named '{name}'")
            continue
        problems += check_runtime_stage(stage, app, layout)

    ignored = {line.strip() for line in dockerignore_text.splitlines()}
    for pattern in (".git", "build-*", "**/node_modules"):
        if pattern not in ignored:
            problems.append(f".dockerignore: '{pattern}' is missing (it would enter the context)")
    return problems


def check_runtime_stage(stage, app, layout):
    problems = []
    where = f"stage {stage.name}"
    args = {k: v for k, v in stage.args.items() if v is not None}

    def last(keyword):
        found = stage.all(keyword)
        if not found:
            problems.append(f"{where}: no {keyword}")
            return None
        return found[-1]

    user = last("USER")
    if user:
        uid = resolve(user[1], args).split(":")[0]
        if uid != layout["BACKUPY_UID"]:
            problems.append(f"Dockerfile:{user[0]}: {where}: USER {user[1]} runs as '{uid}', "
                            f"not uid {layout['BACKUPY_UID']}")

    entrypoint = last("ENTRYPOINT")
    if entrypoint:
        argv = exec_form(entrypoint[1])
        if argv != [layout["TINI"], "--", app]:
            problems.append(f"Dockerfile:{entrypoint[0]}: {where}: ENTRYPOINT must be the JSON "
                            f"form [\"{layout['TINI']}\", \"--\", \"{app}\"] (tini as PID 1)")

    healthcheck = last("HEALTHCHECK")
    if healthcheck:
        rest = healthcheck[1]
        if rest.upper().startswith("NONE") or " CMD " not in f" {rest} ":
            problems.append(f"Dockerfile:{healthcheck[0]}: {where}: HEALTHCHECK has no CMD")
        elif stage.name == "agent" and exec_form(rest.split("CMD", 1)[1].strip()) != [
                "backupy-agent", "health-check"]:
            problems.append(f"Dockerfile:{healthcheck[0]}: {where}: HEALTHCHECK must run "
                            "[\"backupy-agent\", \"health-check\"]")

    stopsignal = last("STOPSIGNAL")
    if stopsignal and stopsignal[1] not in ("SIGTERM", "15"):
        problems.append(f"Dockerfile:{stopsignal[0]}: {where}: STOPSIGNAL {stopsignal[1]}: the "
                        "apps shut down cleanly on SIGTERM")

    state_dir = layout[STATE_DIR_ARG[stage.name]]
    volumes = [resolve(rest, args) for _, rest in stage.all("VOLUME")]
    if not any(state_dir in (exec_form(v) or v.split()) for v in volumes):
        problems.append(f"{where}: no VOLUME {state_dir}")

    labels = {}
    for _, rest in stage.all("LABEL"):
        labels.update({k: unquote(v) for k, v in split_args(rest)})
    for label in OCI_LABELS:
        key = f"org.opencontainers.image.{label}"
        if not labels.get(key):
            problems.append(f"{where}: LABEL {key} is missing")
        elif label in BUILD_ARG_LABELS and labels[key] != "${" + BUILD_ARG_LABELS[label] + "}":
            problems.append(f"{where}: LABEL {key} must come from the build argument "
                            f"${{{BUILD_ARG_LABELS[label]}}}")
    for name in BUILD_ARG_LABELS.values():
        if name not in stage.args:
            problems.append(f"{where}: ARG {name} is not declared (the label would be empty)")

    if stage.name == "agent":
        for key in ("io.backupy.tools", "io.backupy.tools.absent"):
            if not labels.get(key):
                problems.append(f"{where}: LABEL {key} is missing")
        env = {}
        for _, rest in stage.all("ENV"):
            env.update({k: resolve(unquote(v), args) for k, v in split_args(rest)})
        expected = {"BACKUPY_STATE_DIR": layout["AGENT_STATE_DIR"],
                    "BACKUPY_METRICS_LISTEN_ADDR": layout["AGENT_METRICS_LISTEN_ADDR"]}
        for name, value in expected.items():
            if env.get(name) != value:
                problems.append(f"{where}: ENV {name}={env.get(name)}, expected {value}")
        exposed = [resolve(rest, args) for _, rest in stage.all("EXPOSE")]
        if layout["AGENT_METRICS_PORT"] not in " ".join(exposed).split():
            problems.append(f"{where}: EXPOSE {layout['AGENT_METRICS_PORT']} (metrics) missing")
    else:
        cmd = last("CMD")
        if cmd and layout["CP_CONFIG"] not in (exec_form(cmd[1]) or []):
            problems.append(f"Dockerfile:{cmd[0]}: {where}: CMD does not name the config "
                            f"{layout['CP_CONFIG']}")
    return problems


# Each mutation breaks one promise; the checker must report it (so the check can fail).
MUTATIONS = [
    ("COPY from a missing stage", "COPY --from=build /out/backupy-agent",
     "COPY --from=builder /out/backupy-agent"),
    ("agent runs as root", "USER ${BACKUPY_UID}:${BACKUPY_GID}\n# SIGTERM",
     "USER root\n# SIGTERM"),
    ("uid differs from layout.env", "ARG BACKUPY_UID=1000\nARG BACKUPY_GID=1000\nARG BIN_DIR="
     "/usr/local/bin\nARG TINI=/usr/bin/tini\nARG AGENT_STATE_DIR",
     "ARG BACKUPY_UID=1001\nARG BACKUPY_GID=1000\nARG BIN_DIR=/usr/local/bin\nARG TINI="
     "/usr/bin/tini\nARG AGENT_STATE_DIR"),
    ("no agent HEALTHCHECK", "HEALTHCHECK --interval=30s --timeout=10s --start-period=20s "
     "--retries=3 \\\n    CMD [\"backupy-agent\"", "RUN true \\\n    [\"backupy-agent\""),
    ("no tini", "ENTRYPOINT [\"/usr/bin/tini\", \"--\", \"backupy-agent\"]",
     "ENTRYPOINT [\"backupy-agent\"]"),
    ("no STOPSIGNAL", "STOPSIGNAL SIGTERM\nHEALTHCHECK --interval=30s --timeout=10s "
     "--start-period=20s --retries=3 \\\n    CMD [", "HEALTHCHECK --interval=30s --timeout=10s "
     "--start-period=20s --retries=3 \\\n    CMD ["),
    ("no agent VOLUME", "VOLUME ${AGENT_STATE_DIR}", "RUN true"),
    ("no revision label", "org.opencontainers.image.revision=\"${REVISION}\" \\\n      "
     "org.opencontainers.image.created=\"${CREATED}\" \\\n      org.opencontainers.image."
     "base.name=\"${DEBIAN_IMAGE}\" \\\n      org.opencontainers.image.documentation="
     "\"docs/container.md\" \\\n      io.backupy.tools=",
     "org.opencontainers.image.created=\"${CREATED}\" \\\n      org.opencontainers.image."
     "base.name=\"${DEBIAN_IMAGE}\" \\\n      org.opencontainers.image.documentation="
     "\"docs/container.md\" \\\n      io.backupy.tools="),
]


def self_test(text, layout, default_state_dir, dockerignore_text):
    failures = []
    for name, old, new in MUTATIONS:
        if text.count(old) != 1:
            failures.append(f"self-test '{name}': the Dockerfile text to mutate occurs "
                            f"{text.count(old)} times (update MUTATIONS)")
            continue
        if not check(text.replace(old, new), layout, default_state_dir, dockerignore_text):
            failures.append(f"self-test '{name}': the broken Dockerfile passed the lint")
    if not check(text, layout, default_state_dir, "build\n"):
        failures.append("self-test '.dockerignore without .git': passed the lint")
    bad_layout = dict(layout, AGENT_STATE_DIR="/var/lib/elsewhere")
    if not check(text, bad_layout, default_state_dir, dockerignore_text):
        failures.append("self-test 'layout.env disagrees': passed the lint")
    return failures


def default_state_dir(root):
    header = root / "packages/config/include/backupy/config/bootstrap.hpp"
    match = re.search(r'kDefaultStateDir\s*=\s*"([^"]+)"', header.read_text())
    if not match:
        raise ValueError(f"{header}: kDefaultStateDir not found")
    return match.group(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--self-test", action="store_true")
    parser.add_argument("--print-arg", nargs=2, metavar=("STAGE", "NAME"))
    options = parser.parse_args()
    root = options.root
    text = (root / "Dockerfile").read_text()

    if options.print_arg:
        stage_name, arg = options.print_arg
        stage = {s.name: s for s in parse(text)[1]}.get(stage_name)
        if stage is None or stage.args.get(arg) is None:
            print(f"Dockerfile: stage {stage_name} has no ARG {arg} with a default",
                  file=sys.stderr)
            return 1
        print(stage.args[arg])
        return 0

    layout = read_layout(root / "deploy/image/layout.env")
    state_dir = default_state_dir(root)
    ignore = (root / ".dockerignore").read_text() if (root / ".dockerignore").exists() else ""
    problems = check(text, layout, state_dir, ignore)
    if options.self_test:
        problems += self_test(text, layout, state_dir, ignore)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"Dockerfile: ok ({len(parse(text)[1])} stages" +
          (f", {len(MUTATIONS) + 2} broken variants caught" if options.self_test else "") + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
