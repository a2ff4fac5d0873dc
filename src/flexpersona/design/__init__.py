"""Trial design: a power analysis from a calibrated design model, checked against the simulator (issue 15)."""

from .calibration import LCL, Calibration, calibrate_run, calibrate_tables, read_calibration

__all__ = ["LCL", "Calibration", "calibrate_run", "calibrate_tables", "read_calibration"]
