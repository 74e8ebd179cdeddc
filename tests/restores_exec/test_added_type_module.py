"""Adding an Intune type means adding its module: proved in a fresh interpreter.

``added_type/types/example_widgets.py`` describes a type no other file knows. The test starts a new
Python process, puts that folder on ``tenantguard.intune.types.__path__`` before anything reads
the registry (as if the file had been added to the package), and runs ``added_type/scenario.py``
there: the emulator serves the new collection, a backup captures it, the preview diffs it and
the executor restores it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[1]

_RUNNER = """
import sys
import tenantguard.intune.types as types_package
types_package.__path__.append(sys.argv[1])
import pytest
sys.exit(pytest.main(["-p", "no:cacheprovider", "-q", "-o", "addopts=--import-mode=importlib",
                      "-p", "no:randomly", sys.argv[2]]))
"""


def test_a_type_added_through_its_module_alone_is_backed_up_diffed_and_restored():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _RUNNER,
            str(HERE / "added_type" / "types"),
            str(HERE / "added_type" / "scenario.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "1 passed" in output, output


def test_the_example_type_is_unknown_without_its_module():
    from tenantguard.intune import registry

    assert "example_widget" not in registry.POLICY_TYPES
