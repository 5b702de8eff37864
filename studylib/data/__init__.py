"""Data layer: one module per dataset, all returning `ImageDataset`; `splits` picks train/val/test by name."""
from .. import lazy

# imported on first use (`studylib.lazy`)
__getattr__, __dir__, __all__ = lazy.attach(
    __name__, ["audit", "check", "deepweeds", "fer2013", "ferplus", "imagefolder", "splits", "synthetic"],
    {"DataError": "base", "ImageDataset": "base", "LoadOptions": "imagefolder"})
