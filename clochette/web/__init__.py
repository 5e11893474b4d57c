"""The reference web client: static files and the tiny server that hands them out."""
