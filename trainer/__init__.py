"""QLoRA fine-tuning on an approved dataset version, installed with the ``[train]`` extra.

Built by the training issue; the foundation only reserves the package. The API process never imports it.
"""
