"""The audit's stages, each a plain function over plain data: ingest -> stories -> align -> detect
(signals, features, the trained detector and its coverage model, the pivot guess) -> references -> scores,
and the pipeline and engines that run them. Our own trained models are loaded here (``models``).

May import: mtaudit.nlp, mtaudit.text, mtaudit.base. Never writes a file a user reads: that is mtaudit.report.
"""
