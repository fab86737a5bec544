"""adrec: the runnable companion to five documents on ad recommendation with large models.

Importing adrec does no I/O and imports no deep-learning framework; each module pulls in what it
needs when it is used.
"""
__version__ = "0.1.0"
