"""The README's Python quickstart runs as written."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_python_quickstart_runs():
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quickstart (Python)", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert blocks, "no python block under 'Quickstart (Python)'"
    exec(compile(blocks[0], str(README), "exec"), {})
