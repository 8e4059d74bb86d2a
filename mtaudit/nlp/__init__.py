"""Third-party models and what we compute with them: the registry that loads them offline, sentence
embeddings, language-model surprisal.

May import: mtaudit.text, mtaudit.base.
"""
