"""Packaging and documentation agree with the code."""

from __future__ import annotations

import re
import tomllib

import yaml

import investigate
from investigate.cli import build_parser

from .conftest import REPO


def _name_bound(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(>=\s*[0-9.]+)?", spec)
    return m.group(1).lower().replace("_", "-"), (m.group(2) or "").replace(" ", "")


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pip = dict(map(_name_bound, project["dependencies"] + extras["dev"] + extras["spark"]))
    deps = yaml.safe_load((REPO / "environment.yml").read_text())["dependencies"]
    from_pip = [d for item in deps if isinstance(item, dict) for d in item.get("pip", [])]
    conda = dict(map(_name_bound, [d for d in deps if isinstance(d, str)] + from_pip))
    conda.pop("pip")
    assert conda.pop("openjdk") == ">=17"  # Spark's Java runtime: conda can install it, pip cannot
    assert conda.pop("python") == ">=" + project["requires-python"].removeprefix(">=")
    assert conda == pip
    assert all(bound.startswith(">=") for bound in pip.values()), "lower bounds, not pins"


def test_public_api_names_exist():
    for name in investigate.__all__:
        assert getattr(investigate, name) is not None, name


def test_every_cli_command_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text()
    commands = build_parser()._subparsers._group_actions[0].choices
    for name in commands:
        assert f"investigate {name}" in readme, f"README does not show `investigate {name}`"


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    readme = (REPO / "README.md").read_text()
    assert "make reproduce" in readme and "make test" in readme
    assert (REPO / ".ci/run").read_text().strip().splitlines()[-1] == "make test"
