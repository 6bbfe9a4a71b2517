"""Estimation of hidden populations from capture histories (multiple systems estimation)."""

from estimation.mse import MSEInputError, MSEResult, estimate, read_capture_histories

__all__ = ["MSEInputError", "MSEResult", "estimate", "read_capture_histories"]
