"""The capacity ledger: the one place where capacity is taken and given back.

Below every feature: it imports only ``core`` and ``db`` (an import contract in
``.importlinter`` keeps it so), and availability, bookings and draws all read and write
capacity through it.
"""
