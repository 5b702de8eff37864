"""studylib: the package behind the transfer-learning study's notebooks."""
__version__ = "0.1.0"
