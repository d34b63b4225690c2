"""Shared helpers of the deploy/ checks: failures collected with a message, YAML loading."""
import subprocess
import sys

import yaml


class Checker:
    def __init__(self, name):
        self.name = name
        self.failures = []

    def expect(self, condition, message):
        if not condition:
            self.failures.append(message)
        return bool(condition)

    def finish(self):
        for failure in self.failures:
            print(f"{self.name}: FAIL: {failure}", file=sys.stderr)
        if self.failures:
            sys.exit(1)
        print(f"{self.name}: ok")


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_yaml_all(path):
    with open(path, encoding="utf-8") as f:
        return [doc for doc in yaml.safe_load_all(f) if doc is not None]


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kwargs)
