"""One module per data type: the type's API first, then its commands."""
