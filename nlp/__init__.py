"""Sentiment for social posts: a pure library (texts in, scores out; no database, no settings).

- :mod:`nlp.scorer`: ``SentimentScorer`` and ``SentimentScore``, the public entry point
- :mod:`nlp.normalise`: the text normalisation applied before scoring and training
- :mod:`nlp.labels`: the three labels and mapping from any model's ``id2label``
- :mod:`nlp.metrics`: accuracy, macro-F1, macro-recall, confusion matrix
- :mod:`nlp.data`: the labelled corpora and the documented train / dev / test splits
- :mod:`nlp.model`: the shipped model's architecture and artefact format
- ``undertow nlp train`` / ``undertow nlp evaluate``: reproduce and report the shipped model
"""
