"""File formats: NWB (pynwb) and NIX (Neo's NixIO), lossless, plus loaders for recordings of real neurons.

Heavy dependencies (pynwb, nixio, scipy.io) load on first use of a name.
"""
_LAZY = {
    "write_nwb": "ann2neo.io.nwb", "read_nwb": "ann2neo.io.nwb", "read_nwb_matrices": "ann2neo.io.nwb",
    "add_recordings": "ann2neo.io.nwb", "FileFormatError": "ann2neo.io.nwb",
    "write_nix": "ann2neo.io.nix", "read_nix": "ann2neo.io.nix",
    "read": "ann2neo.io.formats", "read_block": "ann2neo.io.formats", "read_all": "ann2neo.io.formats",
    "write": "ann2neo.io.formats",
    "file_format": "ann2neo.io.formats", "FORMATS": "ann2neo.io.formats",
    "read_mat": "ann2neo.io.loaders", "read_nwb_recordings": "ann2neo.io.nwb",
    "read_nix_recordings": "ann2neo.io.nix",
    "load_recording": "ann2neo.io.loaders",
}

__all__ = sorted(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ann2neo.io' has no attribute {name!r}")
