"""Expert review in Label Studio: push candidates, pull verdicts (webhooks plus reconciliation),
overlap, agreement and adjudication.

Read top to bottom: server/launcher (run Label Studio), client (its REST API), labeling (what
reviewers see), setup, push, parse → record → outcomes (an annotation becomes history rows, then
the example follows the verdict that counts), pull (both ways in), agreement, status, cli.
"""
