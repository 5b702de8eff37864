"""Data layer: one module per dataset, all returning `ImageDataset`; `splits` picks train/val/test by name."""
from .base import DataError, ImageDataset
from . import audit, check, deepweeds, fer2013, ferplus, imagefolder, splits, synthetic
from .imagefolder import LoadOptions

__all__ = ["DataError", "ImageDataset", "LoadOptions", "audit", "check", "deepweeds", "fer2013", "ferplus", "imagefolder",
           "splits", "synthetic"]
