"""Quality filters run before review: one small class per rule, each answering keep (``None``)
or a flag with its reason and measured value, in the style of datatrove's filters.

Nothing is deleted: flags are written per example (``example_quality`` / ``quality_flags``),
``review push`` leaves flagged examples out unless asked, and the stats funnel counts each rule.
"""
