"""A model judge scored on the review rubric, and its calibration against the experts.

The judge speaks through synthesis' client (cache, cost accounting, budget) and PII policy; its
scores are suggestions (argilla's sense): stored apart from human reviews, shown to reviewers,
and trusted only as far as ``calibrate`` measures them against human verdicts. ``pairwise`` is
the other judge: base against fine-tuned answers of a training run, in both orders.
"""
