"""Transparency-in-Coverage machine-readable files: table of contents, in-network rates,
allowed amounts, provider references."""
