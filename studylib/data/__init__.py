"""Data layer: one module per dataset, all returning `ImageDataset`."""
from .base import DataError, ImageDataset, atomic_write, default_cache_dir, sha256_file
from . import audit, check, deepweeds, fer2013, ferplus, imagefolder, synthetic

__all__ = ["DataError", "ImageDataset", "atomic_write", "default_cache_dir", "sha256_file", "audit", "check",
           "deepweeds", "fer2013", "ferplus", "imagefolder", "synthetic"]
