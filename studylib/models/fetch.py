"""`studylib weights fetch`: download the pretrained files a profile needs, on request only.

This is the one place studylib downloads anything, and only when a user runs the command on a
connected machine; training still only finds files (``weights.find_weights``). The download is
torch.hub's own (``download_url_to_file``, what torchvision's ``weights=`` uses): it writes a
``.partial`` file beside the target, checks the sha256 prefix the file name carries and renames it
into place only when it matches, so a bad or interrupted download leaves nothing behind.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError

import torch
import torchvision

from .weights import WeightsError, _package_dir, WeightsHashError, WeightsSpec, find_weights, get_spec, search_dirs

# Replaces the base URL of every file (a mirror, or a file:// folder holding torchvision's file names).
SOURCE_ENV = "STUDYLIB_WEIGHTS_SOURCE"


class FetchError(RuntimeError):
    """A weights file could not be downloaded; the message names the URL and what to do instead."""


@dataclass(frozen=True)
class Fetched:
    """Where one arch's weights are now, and how they got there."""

    arch: str
    path: Path
    sha256: str
    how: str  # downloaded | already there | ships with <package>
    url: str = ""


def torchvision_url(spec: WeightsSpec) -> str:
    """The URL torchvision itself downloads `spec` from (its WeightsEnum), checked against our file name."""
    url = torchvision.models.get_model_weights(spec.arch)[spec.source].url
    if url.rsplit("/", 1)[-1] != spec.file:  # our table and torchvision's must name the same file
        raise FetchError(f"{spec.arch} {spec.source}: torchvision downloads {url}, not {spec.file}; "
                         "update studylib.models.weights.WEIGHTS")
    return url


def url_for(spec: WeightsSpec, source: str | None = None) -> str:
    """`source`/<file> when a source is given (or $STUDYLIB_WEIGHTS_SOURCE), else torchvision's URL."""
    source = source or os.environ.get(SOURCE_ENV)
    if source:
        return f"{source.rstrip('/')}/{spec.file}"
    return torchvision_url(spec)


def fetch(arch: str, weights_dir=None, source: str | None = None, progress: bool = True) -> Fetched:
    """Make the preferred weights file of `arch` present and verified in the weights folder.

    Args:
        arch: a key of ``weights.WEIGHTS``.
        weights_dir: where to put it (default: $STUDYLIB_WEIGHTS, else $TORCH_HOME/hub/checkpoints,
            the folder ``find_weights`` searches).
        source: base URL replacing torchvision's (``file:///mirror`` or ``https://...``).
        progress: show torch.hub's progress bar.
    Returns:
        A ``Fetched`` naming the file, its full sha256 and whether it was downloaded.
    Raises:
        WeightsHashError if the downloaded (or an already present) file has the wrong hash; nothing is
        left behind by a refused download. FetchError if the URL cannot be read.
    """
    spec = get_spec(arch)
    try:  # an accepted file already there (or in its package) is verified, not downloaded again
        found, path, digest = find_weights(arch, weights_dir)
        in_package = found.package and path.parent == _package_dir(found.package)
        return Fetched(arch, path, digest, f"ships with {found.package}" if in_package else "already there")
    except WeightsError as e:  # absent: download it below (a wrong file, WeightsHashError, is never replaced)
        if spec.package:  # not a torchvision file: only its package has it
            raise FetchError(f"{arch}: {spec.file} is not downloaded by torchvision; {spec.fetch_hint}") from e
    folder = search_dirs(weights_dir)[0]
    folder.mkdir(parents=True, exist_ok=True)
    url = url_for(spec, source)
    try:
        torch.hub.download_url_to_file(url, str(folder / spec.file), hash_prefix=spec.sha256, progress=progress)
    except RuntimeError as e:
        if "invalid hash" not in str(e):
            raise
        raise WeightsHashError(f"{url}: refused, its sha256 does not start with {spec.sha256}, the hash its name "
                               f"{spec.file} carries ({e}); nothing was written to {folder}. The source holds a "
                               "different or corrupt file: fetch from torchvision's own URL (no --source).") from e
    except (URLError, OSError) as e:
        raise FetchError(f"could not download {url} ({getattr(e, 'reason', e)}). On a machine without internet, "
                         f"fetch on a connected one and copy {spec.file} into {folder}, or pass --source "
                         "with a mirror or a file:// folder holding it.") from e
    _, path, digest = find_weights(arch, folder)  # verified again from disk
    return Fetched(arch, path, digest, "downloaded", url)
