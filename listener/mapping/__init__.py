"""Pure functions from a platform's raw payload to the normalised types (no I/O, no clock).

Collectors and file importers share them, so a tweet read from a twarc file and the same tweet
fetched live map to the same Post.
"""
