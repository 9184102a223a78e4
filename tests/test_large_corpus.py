"""lrlint over large real code it did not see while being written: the Python standard library
and the installed torch package (about 4,000 files). Slow (minutes): `pytest --run-slow`.

No file may crash the checker, every finding must lie in a test folder (this code is correct,
or deliberately broken only to test Python itself), and on the versions the list was made with,
the findings are exactly those of `large_corpus_findings.json`, each with the reason it is right.
To refresh the list for new versions: `lrlint --isolated --no-cache --output-format json STDLIB
TORCH_DIR`, then judge each finding before writing it down.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Dict, Tuple

import pytest

EXPECTED = Path(__file__).with_name("large_corpus_findings.json")
TEST_FOLDERS = {"test", "tests", "testing"}  # torch/testing/_internal is under "testing"


def corpus_roots() -> Dict[str, Path]:
    torch = pytest.importorskip("torch")
    return {"stdlib": Path(sysconfig.get_paths()["stdlib"]), "torch": Path(torch.__file__).parent}


def versions() -> Dict[str, str]:
    import torch

    return {"python": sys.version.split()[0], "torch": torch.__version__.split("+")[0]}


@pytest.mark.slow
def test_the_standard_library_and_torch() -> None:
    roots = corpus_roots()
    done = subprocess.run(
        [sys.executable, "-m", "lrlint", "--isolated", "--no-cache", "--exit-zero", "--output-format", "json"]
        + [str(root) for root in roots.values()],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    assert done.returncode == 0, done.stderr[-3000:]  # 2 would be a crash on some file
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr.lower()
    found = {located(item, roots) for item in json.loads(done.stdout)}
    outside_tests = sorted(item for item in found if not TEST_FOLDERS & set(Path(item[1]).parts))
    assert outside_tests == []
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    if expected["versions"] == versions():
        assert found == {(e["root"], e["path"], e["line"], e["code"]) for e in expected["findings"]}
    assert all(e["reason"].strip() for e in expected["findings"])


def located(item: Dict[str, object], roots: Dict[str, Path]) -> Tuple[str, str, int, str]:
    path = Path(str(item["path"])).resolve()
    for name, root in roots.items():
        if path.is_relative_to(root.resolve()):
            return name, path.relative_to(root.resolve()).as_posix(), int(item["line"]), str(item["code"])  # type: ignore[call-overload]
    raise AssertionError(f"a finding outside the corpus: {path}")
