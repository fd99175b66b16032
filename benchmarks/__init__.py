"""Benchmarks of neurona against PyTorch, scikit-learn and plain NumPy (outside the test suite)."""
