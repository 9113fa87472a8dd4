"""Cloud-pattern utilities shared by every function (mounted as /opt/python on Lambda).

Generic on purpose: nothing in this package knows about recipes or products.
"""
