"""The lab: what builds, fits and measures the product, never what a user's audit runs. Training data
(Apertium round trips), training and evaluating the detector, meta-evaluation of the scores against people,
story-level, span and grouping evaluations, benchmarks.

May import every runtime package; nothing in the runtime imports mtaudit.lab.
"""
