"""File storage: a small protocol with a local-disk and an S3 implementation."""

from bastion.storage.interface import FileStore, blob_path
from bastion.storage.local import LocalFileStore

__all__ = ["FileStore", "LocalFileStore", "blob_path"]
