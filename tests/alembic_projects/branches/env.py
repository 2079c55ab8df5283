"""The shared sample env.py (../_env.py), run in place."""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parent.parent / "_env.py"), run_name="__main__")
