"""Every example script and the example notebook run to the end (so they cannot rot).

Scripts run in a subprocess on the embedded default model; the notebook through nbclient.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
#: Scripts that must exist (others, e.g. loss_function.py or demo.py, run when present).
REQUIRED = {"quickstart.py", "evaluate.py"}


def test_required_examples_exist():
    assert REQUIRED <= {p.name for p in SCRIPTS}
    assert (EXAMPLES / "explore.ipynb").is_file()
    assert (EXAMPLES / "data" / "texts.csv").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_example_script_runs(script, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip(), f"{script.name} printed nothing"


@pytest.mark.slow
def test_example_notebook_runs():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    nb = nbformat.read(EXAMPLES / "explore.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "commit the notebook without outputs")
    client = nbclient.NotebookClient(
        nb, timeout=180, kernel_name="python3",
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()  # raises CellExecutionError on any failing cell
    html = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if "text/html" in o.get("data", {})]
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if "image/png" in o.get("data", {})]
    assert len(html) >= 3 and len(images) >= 2


DOCS = Path(__file__).resolve().parent.parent / "docs"
#: Guides whose ```python blocks run in order, as one script, from the repository root
#: (```py blocks are examples that need a hub download and are not run).
RUNNABLE_DOCS = ["index.md", "quickstart.md", "policy.md", "audio.md", "text.md", "backends.md",
                 "models.md", "training.md",
                 "streaming.md", "batch.md", "labelling.md"]


@pytest.mark.slow
@pytest.mark.parametrize("name", RUNNABLE_DOCS)
def test_doc_code_runs(name, tmp_path):
    import re

    text = (DOCS / name).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, f"{name} has no python code"
    script = tmp_path / "doc.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    env = {**os.environ, "MPLBACKEND": "Agg", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, str(script)], cwd=EXAMPLES.parent, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, f"code in docs/{name} failed:\n{proc.stdout}\n{proc.stderr}"
