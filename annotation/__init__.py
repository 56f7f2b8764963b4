"""Expert review in Label Studio: push candidates, pull verdicts (webhooks plus reconciliation),
overlap, agreement and adjudication.

Read top to bottom: server/launcher (run Label Studio), client (its API, through the official
label-studio-sdk behind a thin adapter), labeling (what reviewers see), setup, selection and
queue_order (which candidates, in which order), push, parse → record → outcomes (an annotation
becomes history rows, then the example follows the verdict that counts), pull (both ways in),
agreement, status.
"""
