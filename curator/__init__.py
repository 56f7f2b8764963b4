"""curator: raw transcripts and documents in, reviewed and versioned fine-tuning datasets out."""

__version__ = "0.1.0"
