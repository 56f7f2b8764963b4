"""QLoRA fine-tuning on an approved dataset version, installed with the ``[train]`` extra.

Importing this package is cheap (no torch): the API process imports ``trainer.config`` and
``trainer.version`` to validate a request; everything that needs torch is imported inside the
training process (``python -m trainer run``).
"""
