"""The resident registry: people staff and neighbourhood workers book for, their personal
data (with a log of every read), merges of duplicate records, suspensions and retention."""
