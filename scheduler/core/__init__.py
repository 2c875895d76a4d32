"""The functional core: plain values in, plain values out. No database, no HTTP, no clock."""
