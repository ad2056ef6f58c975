"""rivalwatch's benchmark harness: ``python -m bench`` (see bench/README.md).

Figures, not tests: nothing here asserts on time. Every number printed is one that was
measured in the same run, on the same machine; the ratios are what count.
"""
