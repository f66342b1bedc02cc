"""File formats: NWB (pynwb). Neo's own IOs (NixIO, ...) read and write ann2neo blocks directly."""
