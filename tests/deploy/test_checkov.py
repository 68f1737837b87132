"""checkov (static security analysis of infra/terraform) with the reviewed skip list in
``infra/terraform/.checkov.yaml``.

checkov pins its own ``bc-python-hcl2``, which claims the ``hcl2`` import name that our
structural tests take from ``python-hcl2``: so it lives in a venv of its own, made on
first use (about a minute, once per machine: it is kept in the user's cache directory,
outside any checkout, keyed by the pinned version).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.deploy.hcl import TERRAFORM

CHECKOV = "checkov==3.3.30"
CONFIG = TERRAFORM / ".checkov.yaml"


def checkov_venv() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    default = cache / "valorize" / CHECKOV.replace("==", "-")
    return Path(os.environ.get("VALORIZE_CHECKOV_VENV", default))


def checkov() -> Path:
    """The checkov executable, installed into its own venv if it is not there yet."""
    venv = checkov_venv()
    binary = venv / "bin" / "checkov"
    if binary.exists():
        return binary
    # sys.executable: the interpreter the project is tested with, not whatever python3 is.
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-input", CHECKOV],
        check=True,
        timeout=900,
    )
    return binary


def _failures(report: Any) -> list[str]:
    reports = report if isinstance(report, list) else [report]
    return [
        f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]


def test_checkov_finds_nothing_beyond_the_reviewed_skips() -> None:
    done = subprocess.run(
        [
            str(checkov()),
            *("--directory", str(TERRAFORM), "--config-file", str(CONFIG)),
            *("--output", "json", "--quiet", "--skip-download"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    failures = _failures(json.loads(done.stdout))
    assert not failures, "fix these, or skip them in .checkov.yaml with a reason:\n" + "\n".join(
        failures
    )
    assert done.returncode == 0, done.stderr[-2000:]
