"""Driven adapters, one subpackage per port, named after the technology and role.

Families (search, mlops, builders, models) are independent: a search adapter reaches models
and executors only through the ports handed to it.
"""
