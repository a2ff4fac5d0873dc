"""Trial design: a power analysis from a calibrated design model, checked against the simulator (issue 15)."""

from .calibration import LCL, Calibration, calibrate_run, calibrate_tables, read_calibration
from .model import DESIGN_COLUMNS, design_grid, predict
from .simulation import simulation_check
from .stage import DesignResult, design, save_design

__all__ = [
    "DESIGN_COLUMNS", "LCL", "Calibration", "DesignResult", "calibrate_run", "calibrate_tables", "design",
    "design_grid", "predict", "read_calibration", "save_design", "simulation_check",
]  # fmt: skip
