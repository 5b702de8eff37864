"""requirements.lock pins every package; pyproject.toml and environment.yml agree with it; the README opens
with the two commands."""
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]


def _lock_entries() -> dict[str, dict]:
    """name -> {version, hashes, via} for each requirement of the lock (pip-compile's format)."""
    entries, current = {}, None
    for line in LOCK.read_text().splitlines():
        if re.match(r"^[A-Za-z0-9]", line):
            req = line.split(" \\")[0].strip()
            m = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;]+)", req)
            assert m, f"{LOCK.name}: {req!r} is not pinned as name==version"
            current = entries[canonicalize_name(m[1])] = {"version": m[2], "hashes": 0, "via": []}
        elif current is not None and line.strip().startswith("--hash=sha256:"):
            current["hashes"] += 1
        elif current is not None and re.match(r"^\s+#\s+(via\s+)?\S", line):
            current["via"].append(re.sub(r"^\s+#\s+(via\s+)?", "", line).strip())
    return entries


def test_the_lock_pins_every_package_with_its_hashes():
    text = LOCK.read_text()
    entries = _lock_entries()
    assert len(entries) > 100  # the whole transitive closure, not just the declared packages
    assert all(e["hashes"] for e in entries.values()), "a pin without --hash"
    assert "were not pinned" not in text  # pip-compile's note on packages it left out (setuptools, pip)


def test_every_declared_dependency_is_locked_at_a_version_it_allows():
    entries = _lock_entries()
    for req in _declared():
        name = canonicalize_name(req.name)
        assert name in entries, f"{req} (pyproject.toml) is not in {LOCK.name}: run `make lock`"
        assert Version(entries[name]["version"]) in req.specifier, (
            f"{LOCK.name} pins {name}=={entries[name]['version']}, outside pyproject's {req}: run `make lock`")


def test_the_lock_has_nothing_pyproject_no_longer_declares():
    top = {n for n, e in _lock_entries().items() if any(v.startswith("studylib (pyproject.toml)") for v in e["via"])}
    assert top == {canonicalize_name(r.name) for r in _declared()}, "pyproject.toml changed since `make lock`"


def test_torch_is_the_pinned_build():
    entries = _lock_entries()
    assert (entries["torch"]["version"], entries["torchvision"]["version"]) == ("2.14.1", "0.29.1")


def test_environment_yml_installs_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert pip == [f"-r {LOCK.name}"], "environment.yml must install exactly the lock"
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python=")][0]
    locked_with = re.search(r"pip-compile with Python (\d+\.\d+)", LOCK.read_text())[1]
    assert python == f"python={locked_with}", "conda's Python must be the one the lock was resolved for"


def test_makefile_installs_from_the_lock():
    make = (ROOT / "Makefile").read_text()
    recipe = make.split("$(VENV)/.installed:")[1].split("\n\n")[0]
    assert "$(LOCK)" in recipe.splitlines()[0] and "-r $(LOCK)" in recipe and "--no-deps -e ." in recipe
    assert "LOCK := requirements.lock" in make and "\nlock:" in make


@pytest.mark.skipif(not (Path(sys.prefix) / ".installed").is_file(), reason="not a venv made by `make install`")
def test_the_installed_environment_is_the_lock():
    """In a venv `make install` built, every locked package is installed at its locked version."""
    wrong = {}
    for name, e in _lock_entries().items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            have = None
        if have is None or Version(have) != Version(e["version"]):
            wrong[name] = (have, e["version"])
    assert not wrong, f"installed vs locked: {wrong}; run `make install` (after `make lock` if pyproject changed)"


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text().split("\n## ")[0]
    assert "make study" in head and "make test" in head
