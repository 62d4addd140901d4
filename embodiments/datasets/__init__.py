"""Datasets of demonstrations: a LeRobotDataset v3.0 writer and reader (`lerobot_v3`).

Importing this package is cheap; pyarrow and PyAV are imported by the writer and reader.
"""
from .lerobot_v3 import CODEBASE_VERSION, DatasetError, LeRobotV3Reader, LeRobotV3Writer

__all__ = ["CODEBASE_VERSION", "DatasetError", "LeRobotV3Reader", "LeRobotV3Writer"]
