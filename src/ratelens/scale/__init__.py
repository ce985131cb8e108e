"""Scale out: the same per-file functions as a serial ingest, mapped over files on Dask."""

from ratelens.scale.cluster import connect, ingest_distributed

__all__ = ["connect", "ingest_distributed"]
