"""The README's "Use a trained agent" and "Bring your own family" sections, run as written: their
files are written, their commands and Python blocks run in order in a fresh folder."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("## Use a trained agent", "## Bring your own family")


def _blocks(section: str) -> list[tuple[str, str]]:
    """The fenced ``(language, code)`` blocks of a README section, in order."""
    text = (ROOT / "README.md").read_text().split(section + "\n", 1)[1]
    text = text.split("\n## ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", text, flags=re.DOTALL)


def _run(command: list[str], cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{shlex.join(command)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def _metarl() -> list[str]:
    script = shutil.which("metarl")
    return [script] if script else [sys.executable, "-m", "metarl.cli"]


@pytest.mark.slow
@pytest.mark.parametrize("section", SECTIONS)
def test_readme_section_runs(section, tmp_path):
    blocks = _blocks(section)
    assert blocks, f"no code blocks under {section}"
    outputs = []
    for language, code in blocks:
        first = code.splitlines()[0]
        if language == "python" and re.fullmatch(r"# \w+\.py", first):
            (tmp_path / first[2:]).write_text(code)  # a module of the user's
        elif language == "python":
            outputs.append(_run([sys.executable, "-c", code], tmp_path))
        else:
            for line in filter(None, code.splitlines()):
                words = shlex.split(line)
                assert words[0] == "metarl", line
                outputs.append(_run([*_metarl(), *words[1:]], tmp_path))
    text = "\n".join(outputs)
    if section == SECTIONS[0]:
        assert re.search(r"return after adaptation: -?\d", text)
    else:
        assert (tmp_path / "runs/goal1d/eval/test/eval.json").is_file()
        assert (tmp_path / "runs/sliding-mass/eval/test/eval.json").is_file()
        assert "`my/Goal1D-v0`" in text and "`my/SlidingMass-v0`" in text
