"""Estimation of hidden populations from capture histories (multiple systems estimation)."""

from estimation.mse import MSEInputError, MSEResult, combine_small_lists, estimate, read_capture_histories

__all__ = ["MSEInputError", "MSEResult", "combine_small_lists", "estimate", "read_capture_histories"]
