"""Side-by-side benchmarks: pyclrbridge against pythonnet (``python -m benchmarks``)."""
