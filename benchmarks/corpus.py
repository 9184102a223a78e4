"""Build the benchmark corpus: five ML libraries unpacked from their wheels, plus training scripts.

    python benchmarks/corpus.py [DEST]          # default: benchmarks/.corpus (git-ignored)

`library/` holds the Python sources of the exact releases below, downloaded with pip from the
package index (no dependencies, wheels only) and unpacked from the wheel: nothing is imported or
installed. `scripts/` holds real training scripts: this repository's fixtures (each a complete
script modelled on a published training loop) and its multi-file test projects. Building twice
gives the same tree; a finished corpus is reused.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEST = ROOT / "benchmarks" / ".corpus"
LIBRARIES = (
    "transformers==5.23.0",
    "diffusers==0.42.1",
    "timm==1.0.31",
    "pytorch-lightning==2.6.6",
    "accelerate==1.15.0",
)
_DONE = ".complete"


def build(dest: Path = DEFAULT_DEST) -> Path:
    """The corpus at ``dest``, built when missing; returns ``dest``."""
    if (dest / _DONE).is_file():
        return dest
    if dest.exists():
        shutil.rmtree(dest)
    with tempfile.TemporaryDirectory() as tmp:
        wheels = download_wheels(Path(tmp))
        for wheel in wheels:
            unpack_sources(wheel, dest / "library" / wheel.name.split("-")[0])
    copy_scripts(dest / "scripts")
    (dest / _DONE).write_text("\n".join(LIBRARIES) + "\n")
    return dest


def download_wheels(folder: Path) -> list:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    subprocess.run([*command, "--dest", str(folder), *LIBRARIES], check=True)
    return sorted(folder.glob("*.whl"))


def unpack_sources(wheel: Path, target: Path) -> None:
    """The wheel's .py files, without its metadata folder."""
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            if member.endswith(".py") and ".dist-info/" not in member:
                archive.extract(member, target)


def copy_scripts(target: Path) -> None:
    for path in sorted((ROOT / "fixtures").glob("*/*.py")):
        destination = target / "fixtures" / path.parent.name / path.name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    shutil.copytree(ROOT / "tests" / "projects", target / "projects", ignore=shutil.ignore_patterns("__pycache__"))


def count_files(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.py"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", nargs="?", type=Path, default=DEFAULT_DEST)
    dest = build(parser.parse_args().dest)
    print(f"{dest}: {count_files(dest / 'library')} library files, {count_files(dest / 'scripts')} training scripts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
