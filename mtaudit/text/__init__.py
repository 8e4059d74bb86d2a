"""Text without models: sentence splitting with offsets, normalising, and the one lexicon (word frequencies,
bigrams, stop words, the tokenizer).

May import: mtaudit.base.
"""
