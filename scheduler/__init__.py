"""Shared-resource scheduling service for the five-zone linkage of Zhoujiadu sub-district."""

__version__ = "0.1.0"
