"""``labs autograder``: a Gradescope autograder zip for one lab.

Gradescope builds an image once per assignment by running ``setup.sh`` (with network), then
runs ``run_autograder`` for each submission (where no network may be assumed). So everything
Python is bundled as wheels, built here: the project's own wheel (``pip wheel --no-deps``)
and the runtime dependencies (``pip download``), installed at setup with ``--no-index``.

Only what grading needs is bundled: the project's dependencies less the notebook front end
(``NOTEBOOK_ONLY``), plus pytest and nbformat (the ``grading`` extra). The project wheel is
installed with ``--no-deps`` for that reason.

The built-in boot image (``images/bin``) lives beside the package in a source checkout, not
inside it, and ``asterinas_lab.images`` looks for it there (``<package>/../images``); lab tests
also read ``images/src``. Setup copies ``images/`` to the same place next to the installed
package.

Layout of the zip::

    setup.sh  run_autograder  requirements.txt  tests/labN.py  wheels/*.whl  images/{bin,src}/...
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .core import find_tests, lab_name

NOTEBOOK_ONLY = frozenset({"jupyterlab", "ipywidgets", "matplotlib"})
GRADING_EXTRA = "grading"
APT_PACKAGES = ("busybox-static",)
BUILD_TIMEOUT = 600
_SKIP_IMAGES = ("build-", "__pycache__", ".")  # images/: build trees and caches are not data


class AutograderError(Exception):
    """The zip cannot be built (not a source checkout, pip failed...)."""


@dataclass
class Autograder:
    path: Path
    wheels: list[str]


def repository() -> Path:
    import asterinas_lab

    root = Path(asterinas_lab.__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        raise AutograderError(
            f"{root}: not a source checkout (no pyproject.toml): the autograder is built from one"
        )
    return root


def _pip(*args: str, cwd: Path | None = None) -> None:
    command = [sys.executable, "-m", "pip", *args]
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AutograderError(f"pip {args[0]} took more than {BUILD_TIMEOUT} s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise AutograderError(f"`{shlex.join(['pip', *args])}` failed:\n{tail}")


def runtime_requirements(wheel: Path) -> list[str]:
    """The wheel's dependencies that grading needs, pinned to the versions installed here.

    Pinning to this environment means the autograder runs what the course's CI tested.
    """
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        meta = archive.read(name).decode()
    from packaging.requirements import Requirement

    requirements: list[str] = []
    for line in meta.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        requirement = Requirement(line.split(":", 1)[1].strip())
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": GRADING_EXTRA}):
            continue  # another extra (dev), or another platform
        if requirement.name.lower() in NOTEBOOK_ONLY:
            continue
        try:
            requirements.append(f"{requirement.name}=={metadata.version(requirement.name)}")
        except metadata.PackageNotFoundError:
            requirements.append(str(requirement).split(";")[0].strip())
    return requirements


def setup_script(python: str) -> str:
    apt = " ".join(APT_PACKAGES)
    return f"""#!/usr/bin/env bash
# Gradescope runs this once, with network, to build the autograder image.
# Python packages come only from wheels/ in this zip (pip --no-index): nothing is fetched from PyPI.
# AUTOGRADER_ROOT (default /autograder) and AUTOGRADER_NO_APT=1 let the course's tests run it elsewhere.
set -euo pipefail
cd "$(dirname "$0")"
root=${{AUTOGRADER_ROOT:-/autograder}}
export DEBIAN_FRONTEND=noninteractive
if [ -z "${{AUTOGRADER_NO_APT:-}}" ]; then
    apt-get update
    apt-get install -y --no-install-recommends {apt}
fi
if ! command -v python{python} >/dev/null 2>&1; then
    # the bundled wheels are built for Python {python}
    apt-get update
    apt-get install -y --no-install-recommends python{python} python{python}-venv
fi
python{python} -m venv "$root/venv"
"$root/venv/bin/python" -m pip install --no-index --find-links wheels -r requirements.txt
"$root/venv/bin/python" -m pip install --no-index --no-deps wheels/asterinas_lab-*.whl
# images/ (the built-in boot image's programs, and their sources, which tests read) sits beside
# the package, as in a source checkout: asterinas_lab/images.py looks for it there.
site=$("$root/venv/bin/python" -c \\
    'import asterinas_lab, pathlib; print(pathlib.Path(asterinas_lab.__file__).parents[1])')
rm -rf "$site/images" && cp -r images "$site/images"
chmod -R a+rX "$site/images" && chmod a+x "$site"/images/bin/*  # the tests also run these natively
"$root/venv/bin/asterinas-lab" --help >/dev/null
"""


def run_script(lab: str) -> str:
    return f"""#!/usr/bin/env bash
# Gradescope runs this for each submission: grade it, write /autograder/results/results.json.
# AUTOGRADER_ROOT (default /autograder) lets the course's tests run this script elsewhere.
set -uo pipefail
root=${{AUTOGRADER_ROOT:-/autograder}}
results=$root/results/results.json
mkdir -p "$root/results"
fail() {{  # a results.json scoring 0 with one message, for a submission that cannot be graded
    "$root/venv/bin/python" -c 'import json, sys
json.dump({{"score": 0, "output": sys.argv[1], "tests": [], "visibility": "visible",
           "stdout_visibility": "hidden"}}, open(sys.argv[2], "w"))' "$1" "$results"
    echo "$1" >&2
    exit 0
}}
shopt -s nullglob
cd "$root/submission"
candidates=({lab}_*.ipynb {lab}[.]ipynb)  # [.]: a pattern, so nullglob drops it
[ ${{#candidates[@]}} -eq 0 ] && candidates=(*.ipynb)
[ ${{#candidates[@]}} -eq 0 ] && candidates=(*.py)
if [ ${{#candidates[@]}} -eq 0 ]; then
    fail "No notebook (.ipynb) or Python file (.py) was submitted: upload your {lab} notebook."
fi
if [ ${{#candidates[@]}} -gt 1 ]; then
    fail "Several files could be the submission (${{candidates[*]}}): upload only your {lab} notebook."
fi
export ASTERINAS_LAB_TESTS=$root/source/tests
errors=$(mktemp)
"$root/venv/bin/asterinas-lab" grade {lab} "$root/submission/${{candidates[0]}}" --json "$results" 2>"$errors"
status=$?
cat "$errors" >&2
if [ $status -ne 0 ]; then
    rm -f "$results"
    why=$(tail -n 1 "$errors" | sed 's/^asterinas-lab: //; s|'"$root"'/submission/||g')
    fail "The autograder could not grade ${{candidates[0]}}: ${{why:-status $status}}"
fi
exit 0
"""


def build(
    lab: str | int,
    out: str | Path | None = None,
    *,
    tests_dir: str | Path | None = None,
    wheelhouse: str | Path | None = None,
) -> Autograder:
    """Build ``out`` (default ``labN-autograder.zip``).

    ``wheelhouse``: a directory of dependency wheels to use instead of downloading them
    (``pip download --no-index --find-links`` there: for building offline).
    """
    name = lab_name(lab)
    tests = find_tests(name, tests_dir)
    root = repository()
    out = Path(out) if out is not None else Path(f"{name}-autograder.zip")
    images = root / "images"
    with tempfile.TemporaryDirectory(prefix="autograder-") as scratch:
        wheels = Path(scratch) / "wheels"
        _pip("wheel", "--no-deps", "--wheel-dir", str(wheels), str(_source_copy(root, Path(scratch) / "src")))
        project = next(wheels.glob("asterinas_lab-*.whl"), None)
        if project is None:
            raise AutograderError("pip wheel built no asterinas_lab wheel")
        requirements = runtime_requirements(project)
        source = ["--no-index", "--find-links", str(wheelhouse)] if wheelhouse is not None else []
        try:
            _pip("download", "--only-binary=:all:", "--dest", str(wheels), *source, *requirements)
        except AutograderError as error:
            hint = "" if wheelhouse is not None else "\n(offline? give --wheelhouse DIR holding these wheels)"
            raise AutograderError(f"{error}{hint}") from None
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            _add(archive, "setup.sh", setup_script(python), executable=True)
            _add(archive, "run_autograder", run_script(name), executable=True)
            _add(archive, "requirements.txt", "\n".join(requirements) + "\n")
            _add(archive, f"tests/{name}.py", tests.read_text(encoding="utf-8"))
            names = []
            for wheel in sorted(wheels.glob("*.whl")):
                archive.write(wheel, f"wheels/{wheel.name}")
                names.append(wheel.name)
            for path in sorted(images.rglob("*")) if images.is_dir() else ():
                relative = path.relative_to(images)
                if path.is_file() and not any(part.startswith(_SKIP_IMAGES) for part in relative.parts):
                    archive.write(path, f"images/{relative.as_posix()}")
    return Autograder(out, names)


def _source_copy(root: Path, target: Path) -> Path:
    """What the wheel is built from: a copy, so the build leaves no build/ or egg-info in the tree."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (root / name).is_file():
            shutil.copy2(root / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", ".ruff_cache", ".pytest_cache", "*.egg-info", "*.pyc")
    shutil.copytree(root / "asterinas_lab", target / "asterinas_lab", ignore=ignore)
    return target


def _add(archive: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    archive.writestr(info, text)
