"""curator: raw transcripts and documents in, reviewed and versioned fine-tuning datasets out."""

__version__ = "0.1.0"


def connect(db=None):
    """``curator.connect(db).sql("SELECT ...").df()``: see :mod:`curator.notebook` (imported on use,
    so ``import curator`` stays light)."""
    from .notebook import connect as _connect

    return _connect(db)
