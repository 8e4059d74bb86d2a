"""Foundations every layer may use: the settings object, the plain data types, atomic file writes, exit codes.

Imports nothing from mtaudit.
"""
