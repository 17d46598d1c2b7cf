"""Images: the content-addressed store, pulls over the OCI distribution API, platform choice and
layer unpacking.
"""
