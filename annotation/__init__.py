"""Expert review in Label Studio: push candidates, pull verdicts (webhooks plus reconciliation).

Built by the review issue; the foundation only reserves the package.
"""
