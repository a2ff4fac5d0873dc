"""Where the shared real data lives (``../shared/data`` beside the project): defined once for every test."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
LCL = SHARED_DATA / "lcl"
