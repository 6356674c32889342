# All metadata lives in pyproject.toml. This shim only serves tools that still look for a setup.py
# (older pip or IDEs doing a "setup.py develop", `python setup.py --version`); it adds nothing to the build.
from setuptools import setup

setup()
